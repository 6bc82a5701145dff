#include "harness/perf/step_time_origin.hpp"

#include "harness/common/enum_names.hpp"

namespace tpbench {

const char* step_time_origin_name(StepTimeOrigin o) {
  switch (o) {
    case StepTimeOrigin::Roofline: return "roofline";
    case StepTimeOrigin::Measured: return "measured";
    case StepTimeOrigin::Mixed: return "mixed";
  }
  return "?";
}

StepTimeOrigin parse_step_time_origin(const std::string& s) {
  return parse_enum_name(s, kAllStepTimeOrigins, step_time_origin_name, "step time source");
}

}  // namespace tpbench
