// `tpbench explain`, question 2: the serving stack's cost per TP sized from llm-d's measured TPOT
// at every concurrency it was read at (not only C=1): TPOT = a + k x predicted TPOT per TP, over
// every aggregated configuration of that TP (k replicas at C run like one at C/k). Then every
// aggregated configuration is simulated again with that stack and set against llm-d's
// throughput. The stack is read off latencies and checked on throughput, which the closed loop
// ties to TPOT but also to how many requests run at once (KV capacity, admission, prefill), so
// it tests those; it is a calibration on llm-d points, never the speed of light.
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "harness/compare/detail/explain_format.hpp"
#include "harness/compare/explain_report.hpp"
#include "harness/compare/stack_cost_fit.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/sim/grid.hpp"

namespace tpbench {
namespace {

using detail::fmt;
const auto& feasible_at = detail::feasible_point;

struct TpSamples {
  std::vector<double> predicted_s, measured_s;
  std::set<std::string> configs;
};

// Aggregated configurations' (predicted, llm-d) TPOT pairs by TP, where both are known.
std::map<int, TpSamples> tpot_pairs(const ExplainInputs& in, const std::vector<ServingPoint>& pts) {
  std::map<int, TpSamples> by_tp;
  for (const auto& [key, lat] : in.latency) {
    const Layout l = parse_layout(key.first);
    const ServingPoint* p = feasible_at(pts, key.first, key.second);
    if (l.disaggregated || !std::isfinite(lat.first) || !(lat.first > 0) || !p || !(p->tpot_s > 0)) continue;
    TpSamples& s = by_tp[l.replicas.tp];
    s.predicted_s.push_back(p->tpot_s);
    s.measured_s.push_back(lat.first);
    s.configs.insert(key.first);
  }
  return by_tp;
}

std::string list(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

// Mean absolute percentage error of tok/s/GPU against the reference over `cfgs` at the
// reference's concurrencies; NaN when no point pairs up.
double mape(const std::vector<ServingPoint>& sim, const RefIndex& ref, const std::set<std::string>& cfgs) {
  double sum = 0;
  int n = 0;
  for (const auto& [key, o] : ref) {
    if (!cfgs.count(key.first) || !(o->tokens_per_s_per_gpu > 0)) continue;
    if (const ServingPoint* p = feasible_at(sim, key.first, key.second)) {
      sum += std::fabs(p->tokens_per_s_per_gpu / o->tokens_per_s_per_gpu - 1);
      ++n;
    }
  }
  return n > 0 ? 100 * sum / n : NAN;
}

// RMS of simulated - measured TPOT over the latency table's points of `cfgs`.
double tpot_rms_ms(const ExplainInputs& in, const std::vector<ServingPoint>& sim, const std::set<std::string>& cfgs) {
  double sum = 0;
  int n = 0;
  for (const auto& [key, lat] : in.latency) {
    if (!cfgs.count(key.first) || !std::isfinite(lat.first)) continue;
    if (const ServingPoint* p = feasible_at(sim, key.first, key.second)) {
      sum += (p->tpot_s - lat.first) * (p->tpot_s - lat.first);
      ++n;
    }
  }
  return n > 0 ? 1e3 * std::sqrt(sum / n) : NAN;
}

std::string pct(double v) { return std::isfinite(v) ? fmt("%.1f %%", v) : "-"; }

}  // namespace

std::string explain_stack_cost(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref) {
  const std::map<int, TpSamples> by_tp = tpot_pairs(in, pts);
  std::map<int, StackCostFit> fits;
  for (const auto& [tp, s] : by_tp)
    if (s.predicted_s.size() >= 2) fits[tp] = fit_stack_cost(s.predicted_s, s.measured_s);
  if (fits.empty()) return "";

  std::ostringstream md;
  md << "\n**The stack's cost at every concurrency, from llm-d's TPOT.** The C=1 figures above are one point per TP. "
        "With llm-d's mean TPOT (`--latency`) at every concurrency, each TP's TPOTs over all its aggregated "
        "configurations (k replicas at C run like one at C/k) are fitted as TPOT = a + k x predicted TPOT (least "
        "squares, a >= 0, k >= 1): a is a fixed cost per step (scheduling, launches, synchronisation), k stretches "
        "the step in proportion to its work (1 / k of the speed of light):\n\n"
     << "| TP | configurations | points | a ms per step | k | rms ms | largest miss ms |\n|---|---|---|---|---|---|---|\n";
  PerfParams par;
  std::set<std::string> all_cfgs;
  for (const auto& [tp, f] : fits) {
    const TpSamples& s = by_tp.at(tp);
    md << "| " << tp << " | " << list(s.configs) << " | " << f.points << " | " << fmt("%.1f", f.a_s * 1e3) << " | "
       << (f.k_fixed ? "1 (held)" : fmt("%.2f", f.k)) << " | " << fmt("%.1f", f.rms_s * 1e3) << " | "
       << fmt("%.1f", f.max_abs_s * 1e3) << " |\n";
    if (f.a_s > 0) par.step_overhead_by_tp_s[tp] = f.a_s;
    if (f.k != 1.0) par.step_time_scale_by_tp[tp] = f.k;
  }
  bool any_held = false;
  for (const auto& [tp, f] : fits) any_held = any_held || f.k_fixed;
  if (any_held)
    md << "\nWhere k is held at 1 the predicted TPOT hardly varies across the points (a KV-capped batch), so a "
          "fixed cost and a proportional one cannot be told apart; a is then the mean excess.\n";

  // Every aggregated configuration of a fitted TP in the reference, simulated with that stack.
  GridSpec g;
  g.isl = in.isl;
  g.osl = in.osl;
  std::set<int> cs;
  std::map<int, std::set<std::string>> cfgs_of_tp;
  for (const auto& [key, o] : ref) {
    const Layout l = parse_layout(key.first);
    if (l.disaggregated || !fits.count(l.replicas.tp)) continue;
    if (cfgs_of_tp[l.replicas.tp].insert(key.first).second) g.layouts.push_back(l);
    cs.insert(key.second);
    all_cfgs.insert(key.first);
  }
  g.concurrency.assign(cs.begin(), cs.end());
  const std::vector<ServingPoint> cal = simulate_grid(g, in.model, in.profile, par);

  md << "\nEvery aggregated configuration of those TPs simulated again with its TP's a and k (`--set "
        "step_overhead_tp<n>_s=a --set step_time_scale_tp<n>=k`), against llm-d's tok/s/GPU and TPOT:\n\n"
     << "| TP | configurations | MAPE tok/s/GPU, speed of light | MAPE tok/s/GPU, with the stack | TPOT rms ms, with the stack |\n"
        "|---|---|---|---|---|\n";
  for (const auto& [tp, cfgs] : cfgs_of_tp)
    md << "| " << tp << " | " << cfgs.size() << " | " << pct(mape(pts, ref, cfgs)) << " | " << pct(mape(cal, ref, cfgs))
       << " | " << fmt("%.1f", tpot_rms_ms(in, cal, cfgs)) << " |\n";
  md << "| all | " << all_cfgs.size() << " | " << pct(mape(pts, ref, all_cfgs)) << " | " << pct(mape(cal, ref, all_cfgs))
     << " | " << fmt("%.1f", tpot_rms_ms(in, cal, all_cfgs)) << " |\n";

  // The 1R order with that stack, where all three TPs were fitted.
  std::ostringstream rows;
  int matches = 0, n = 0;
  for (int c : g.concurrency) {
    if (c < 32) continue;
    const ServingPoint *a = feasible_at(cal, "1R-TP2", c), *b = feasible_at(cal, "1R-TP4", c), *d = feasible_at(cal, "1R-TP8", c);
    auto r2 = ref.find({"1R-TP2", c}), r4 = ref.find({"1R-TP4", c}), r8 = ref.find({"1R-TP8", c});
    if (!a || !b || !d || r2 == ref.end() || r4 == ref.end() || r8 == ref.end()) continue;
    const std::string mine = detail::tp_order(a->tokens_per_s_per_gpu, b->tokens_per_s_per_gpu, d->tokens_per_s_per_gpu);
    const std::string theirs = detail::tp_order(r2->second->tokens_per_s_per_gpu, r4->second->tokens_per_s_per_gpu,
                                                r8->second->tokens_per_s_per_gpu);
    ++n;
    matches += mine == theirs;
    rows << "| " << c << " | " << fmt("%.1f", a->tokens_per_s_per_gpu) << " | " << fmt("%.1f", b->tokens_per_s_per_gpu)
         << " | " << fmt("%.1f", d->tokens_per_s_per_gpu) << " | " << mine << " | " << theirs << " |\n";
  }
  if (n > 0)
    md << "\nThe single replicas with that stack:\n\n| C | TP2 | TP4 | TP8 | order | llm-d order |\n|---|---|---|---|---|---|\n"
       << rows.str() << "\nWith that stack the order matches llm-d's at " << matches << " of " << n << " concurrencies. ";
  else
    md << "\n";
  md << "TPOT and throughput are tied by the closed loop (each user's E2E is TTFT + (OSL - 1) x TPOT), so a stack "
        "read off TPOT reproduces throughput only as far as the simulator also gets right how many requests run at "
        "once and how much prefill shares their steps: the throughput columns test those, not the hardware. ";
  if (fits.count(4) && fits.count(8) && !fits.at(4).k_fixed && !fits.at(8).k_fixed)
    md << "TP4's stack costs " << fmt("%.1f", fits.at(4).a_s * 1e3) << " ms per step and runs its work at "
       << fmt("%.0f", 100 / fits.at(4).k) << " % of the speed of light; TP8's costs " << fmt("%.1f", fits.at(8).a_s * 1e3)
       << " ms per step at " << fmt("%.0f", 100 / fits.at(8).k)
       << " %: in llm-d's aggregated runs TP8 pays more both per step and per unit of work. ";
  md << "This uses " << [&] {
    int k = 0;
    for (const auto& [tp, f] : fits) k += f.points;
    return k;
  }() << " llm-d latency points, so it sizes the stack; it does not say where its cost comes from.\n";
  return md.str();
}

}  // namespace tpbench
