#include "harness/sim/per_user_metric.hpp"

#include "harness/common/enum_names.hpp"

namespace tpbench {

const char* per_user_name(PerUserMetric m) {
  switch (m) {
    case PerUserMetric::InvTpot: return "inv_tpot";
    case PerUserMetric::OutDivConc: return "out_div_conc";
  }
  return "?";
}

PerUserMetric parse_per_user_metric(const std::string& s) {
  return parse_enum_name(s, kAllPerUserMetrics, per_user_name, "per-user definition");
}

}  // namespace tpbench
