#pragma once
// The two definitions of a serving point's tok/s per user: 1 / TPOT, or output tok/s divided by
// the concurrency (what llm-d plots). A comparison reads both sides under one of them.
#include <array>
#include <string>

namespace tpbench {

enum class PerUserMetric { InvTpot, OutDivConc };
inline constexpr std::array kAllPerUserMetrics = {PerUserMetric::InvTpot, PerUserMetric::OutDivConc};
const char* per_user_name(PerUserMetric m);  // "inv_tpot", "out_div_conc"
PerUserMetric parse_per_user_metric(const std::string& s);  // throws UsageError naming an unknown definition

}  // namespace tpbench
