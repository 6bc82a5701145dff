#pragma once
// Where a serving point's step times came from: the cost model ("roofline" in the documents),
// measured sweep tables, or both (some phases or pools measured, the others priced).
#include <array>
#include <string>

namespace tpbench {

enum class StepTimeOrigin { Roofline, Measured, Mixed };
inline constexpr std::array kAllStepTimeOrigins = {StepTimeOrigin::Roofline, StepTimeOrigin::Measured,
                                                   StepTimeOrigin::Mixed};
const char* step_time_origin_name(StepTimeOrigin o);  // "roofline", "measured", "mixed"
StepTimeOrigin parse_step_time_origin(const std::string& s);  // throws UsageError naming an unknown origin

}  // namespace tpbench
