#include "harness/backend/step_execution.hpp"

namespace tpbench {

const char* variant_name(Variant v) {
  switch (v) {
    case Variant::Full: return "full";
    case Variant::ComputeOnly: return "compute_only";
    case Variant::CommOnly: return "comm_only";
  }
  return "unknown";
}

bool StepExecution::fall_back(Variant v, const std::string& error, bool step_abandoned, bool device_usable) {
  if (step_abandoned || !device_usable) return false;
  eager_[v] = error;
  return true;
}

nlohmann::json StepExecution::describe() const {
  if (eager_.empty()) return {{"graphs", captured_.empty() ? "none" : "captured"}};
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [v, e] : eager_) errors[variant_name(v)] = e;
  return {{"graphs", captured_.empty() ? "eager" : "partly eager"}, {"graph_capture_errors", errors}};
}

}  // namespace tpbench
