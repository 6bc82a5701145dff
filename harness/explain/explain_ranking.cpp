// `tpbench explain`: how well the speed-of-light prediction ranks the reference's configurations
// by tok/s/GPU at equal tok/s/user, what `tpbench recommend` relies on when it picks a layout.
// Nothing here is fitted to the reference: the prediction is explain's default-parameter grid.
#include <cmath>
#include <map>
#include <sstream>

#include "harness/explain/detail/explain_format.hpp"
#include "harness/explain/explain_report.hpp"
#include "harness/recommend/ranking_agreement.hpp"

namespace tpbench {

std::string explain_ranking_agreement(const ExplainInputs& in, const std::vector<ServingPoint>& pts) {
  using detail::fmt;
  std::map<std::string, UserGpuCurve> measured, predicted;
  for (const Observation& o : in.reference.points)
    if (o.per_user_out_div_conc > 0 && o.tokens_per_s_per_gpu > 0)
      measured[o.config].push_back({o.per_user_out_div_conc, o.tokens_per_s_per_gpu});
  for (const ServingPoint& p : pts)
    if (p.feasible) predicted[p.layout].push_back({p.per_user_out_div_conc, p.tokens_per_s_per_gpu});
  const auto levels = ranking_agreement(measured, predicted, per_user_levels(measured));
  std::ostringstream md;
  md << "\n## How well the prediction ranks the configurations (what `tpbench recommend` relies on)\n\n";
  if (levels.empty()) {
    md << "No tok/s/user level has three or more configurations measured and predicted.\n";
    return md.str();
  }
  md << "At each tok/s/user level (output tok/s / concurrency, the reference's plotted definition) where at least "
        "three configurations were both measured and predicted, the configurations are ordered by tok/s/GPU there "
        "(each curve interpolated log-log between its own points, never extrapolated). Kendall's tau-b compares the "
        "predicted order with the measured one (1: the same order, -1: reversed); the prediction is the speed of "
        "light with default parameters, nothing fitted to the reference.\n\n";
  Table table = detail::report_table(
      {"tok/s/user", "configurations", "Kendall tau", "measured best", "predicted best", "same best"});
  double tau_sum = 0;
  int same = 0, counted = 0;
  for (const LevelAgreement& l : levels) {
    const bool match = l.measured_best == l.predicted_best;
    table.add_row({fmt("%g", l.per_user), l.configs.size(), fmt("%.2f", l.tau), l.measured_best, l.predicted_best,
                   match ? "yes" : "no"});
    if (!std::isnan(l.tau)) {
      tau_sum += l.tau;
      ++counted;
    }
    same += match ? 1 : 0;
  }
  md << detail::markdown(table);
  md << "\nOver " << levels.size() << " levels: mean tau " << fmt("%.2f", counted ? tau_sum / counted : NAN)
     << "; the predicted best is the measured best at " << same << " of them.\n";
  return md.str();
}

}  // namespace tpbench
