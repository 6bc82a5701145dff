#include "harness/perf/perf_params.hpp"

#include "harness/common/error.hpp"

namespace tpbench {
namespace {
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
}

std::vector<std::string> fittable_param_names() {
  return {"hbm_efficiency", "compute_efficiency", "step_overhead_s", "collective_scale", "collective_hop_latency_s", "memory_reserve_gib"};
}

double get_param(const PerfParams& p, const std::string& name) {
  if (name == "hbm_efficiency") return p.hbm_efficiency;
  if (name == "compute_efficiency") return p.compute_efficiency;
  if (name == "step_overhead_s") return p.step_overhead_s;
  if (name == "collective_scale") return p.collective_scale;
  if (name == "collective_hop_latency_s") return p.collective_hop_latency_s;
  if (name == "memory_reserve_gib") return p.memory_reserve_bytes < 0 ? -1 : p.memory_reserve_bytes / kGiB;
  throw UsageError("unknown model parameter '" + name + "'");
}

void set_param(PerfParams& p, const std::string& name, double v) {
  if (name == "hbm_efficiency") p.hbm_efficiency = v;
  else if (name == "compute_efficiency") p.compute_efficiency = v;
  else if (name == "step_overhead_s") p.step_overhead_s = v;
  else if (name == "collective_scale") p.collective_scale = v;
  else if (name == "collective_hop_latency_s") p.collective_hop_latency_s = v;
  else if (name == "memory_reserve_gib") p.memory_reserve_bytes = v * kGiB;
  else throw UsageError("unknown model parameter '" + name + "'");
}

}  // namespace tpbench
