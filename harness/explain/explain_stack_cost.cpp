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

#include "harness/observations/compare.hpp"
#include "harness/explain/detail/explain_format.hpp"
#include "harness/explain/explain_report.hpp"
#include "harness/fit/stack_cost_fit.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/sim/grid.hpp"

namespace tpbench {
namespace {

using detail::fmt;
const auto& feasible_at = detail::feasible_point;

struct TpSamples {
  std::vector<double> predicted_s, measured_s;
  std::vector<std::pair<std::string, int>> points;  // (config, C) of each pair
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
    s.points.push_back(key);
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
  std::vector<double> measured, model;
  for (const auto& [key, o] : ref)
    if (const ServingPoint* p = cfgs.count(key.first) ? feasible_at(sim, key.first, key.second) : nullptr) {
      measured.push_back(o->tokens_per_s_per_gpu);
      model.push_back(p->tokens_per_s_per_gpu);
    }
  return mape_percent(measured, model);
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

// MAPE of simulated vs measured TTFT over the latency table's points of `cfgs` that have one.
double ttft_mape(const ExplainInputs& in, const std::vector<ServingPoint>& sim, const std::set<std::string>& cfgs) {
  std::vector<double> measured, model;
  for (const auto& [key, lat] : in.latency)
    if (const ServingPoint* p = cfgs.count(key.first) && std::isfinite(lat.second) ? feasible_at(sim, key.first, key.second)
                                                                                  : nullptr) {
      measured.push_back(lat.second);
      model.push_back(p->ttft_s);
    }
  return mape_percent(measured, model);  // skips zero measurements
}

std::string pct(double v) { return std::isfinite(v) ? fmt("%.1f %%", v) : "-"; }

// The fit again without its largest miss: how much one point moves a and k.
struct LeaveOut {
  std::pair<std::string, int> dropped;
  StackCostFit fit;
};
LeaveOut without_largest_miss(const TpSamples& s, const StackCostFit& f) {
  size_t worst = 0;
  double most = -1;
  for (size_t i = 0; i < s.predicted_s.size(); ++i)
    if (const double e = std::fabs(s.measured_s[i] - f.a_s - f.k * s.predicted_s[i]); e > most) most = e, worst = i;
  std::vector<double> x, y;
  for (size_t i = 0; i < s.predicted_s.size(); ++i)
    if (i != worst) x.push_back(s.predicted_s[i]), y.push_back(s.measured_s[i]);
  return {s.points[worst], fit_stack_cost(x, y)};
}

}  // namespace

// Longer than ~80 lines on purpose: one report section whose tables (the per-TP fit, every
// aggregated configuration simulated with its fitted stack, the resulting 1R order) all read the
// fits made at its top; apart, each would take those fits and the simulated rows as arguments.
std::string explain_stack_cost(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref) {
  const std::map<int, TpSamples> by_tp = tpot_pairs(in, pts);
  std::map<int, StackCostFit> fits;
  std::string out_of_range;  // TPs whose fitted stack the model cannot take
  for (const auto& [tp, s] : by_tp)
    if (s.predicted_s.size() >= 2) {
      StackCostFit f = fit_stack_cost(s.predicted_s, s.measured_s);
      // Simulated and printed at the precision of the reproduce command below.
      f.a_s = std::round(f.a_s * 1e4) / 1e4;
      f.k = std::round(f.k * 1e3) / 1e3;
      // Only a stack the model can take (set_param's ranges) is simulated.
      const double a_max = param_upper_bound("step_overhead_s"), k_max = param_upper_bound("step_time_scale_tp1");
      if (f.a_s <= a_max && f.k <= k_max) fits[tp] = f;
      else
        out_of_range += " TP" + std::to_string(tp) + " (a " + fmt("%.3g", f.a_s) + " s, k " + fmt("%.3g", f.k) +
                        "; the model takes a <= " + fmt("%g", a_max) + " s and k <= " + fmt("%g", k_max) + ")";
    }
  if (fits.empty() && out_of_range.empty()) return "";
  if (fits.empty())
    return "\n**The stack's cost at every concurrency, from llm-d's TPOT:** no TP could be sized; fitted stacks out of "
           "the model's range:" + out_of_range + ".\n";

  std::ostringstream md;
  int n_points = 0;
  for (const auto& [tp, f] : fits) n_points += f.points;
  md << "\n**The stack's cost at every concurrency, from llm-d's TPOT.** The C=1 figures above are one point per TP. "
        "With llm-d's mean TPOT (`--latency`) at every concurrency, each TP's TPOTs over all its aggregated "
        "configurations (r replicas at C run like one at C/r) are fitted as TPOT = a + k x predicted TPOT (least "
        "squares, a >= 0, k >= 1): a is a fixed cost per step, k stretches the whole predicted step (its work and "
        "the profile's own per-step overhead; 1 / k of the speed of light). The last column fits again without the "
        "point the fit misses most, to show how much one point moves a and k:\n\n";
  Table fit_table = detail::report_table({"TP", "configurations", "points", "a ms per step", "k", "rms ms",
                                          "largest miss ms", "without the largest miss"});
  PerfParams par;
  std::string reproduce;
  std::set<std::string> all_cfgs;
  for (const auto& [tp, f] : fits) {
    const TpSamples& s = by_tp.at(tp);
    std::string loo = "-";
    if (s.predicted_s.size() >= 4) {
      const LeaveOut l = without_largest_miss(s, f);
      loo = l.dropped.first + " C=" + std::to_string(l.dropped.second) + " out: a " + fmt("%.1f", l.fit.a_s * 1e3) +
            " ms, k " + (l.fit.k_fixed ? std::string("1 (held)") : fmt("%.2f", l.fit.k));
    }
    fit_table.add_row({tp, list(s.configs), f.points, fmt("%.1f", f.a_s * 1e3), f.k_fixed ? "1 (held)" : fmt("%.2f", f.k),
                       fmt("%.1f", f.rms_s * 1e3), fmt("%.1f", f.max_abs_s * 1e3), loo});
    if (f.a_s > 0) {
      par.step_overhead_by_tp_s[tp] = f.a_s;
      reproduce += " --set step_overhead_tp" + std::to_string(tp) + "_s=" + fmt("%.4f", f.a_s);
    }
    if (f.k != 1.0) {
      par.step_time_scale_by_tp[tp] = f.k;
      reproduce += " --set step_time_scale_tp" + std::to_string(tp) + "=" + fmt("%.3f", f.k);
    }
  }
  md << detail::markdown(fit_table);
  if (!out_of_range.empty())
    md << "\nLeft out, their fitted stack being out of the model's range:" << out_of_range << ".\n";
  bool any_held = false;
  for (const auto& [tp, f] : fits) any_held = any_held || f.k_fixed;
  if (any_held)
    md << "\nWhere k is held at 1 the predicted TPOT hardly varies across the points (for example a KV-capped batch), "
          "so a fixed cost and a proportional one cannot be told apart; a is then the mean excess.\n";

  // Every aggregated configuration of a fitted TP in the reference, simulated with that stack.
  GridSpec g;
  g.isl = in.isl;
  g.scheme = in.scheme;
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

  md << "\nEvery aggregated configuration of those TPs simulated again with its TP's a and k (`tpbench predict` with"
     << reproduce << "), against llm-d. TTFT was not used to fit a and k, so its columns are a check; at queue-bound "
        "points TTFT is mostly waiting for admission, which follows from the throughput:\n\n";
  Table check = detail::report_table({"TP", "configurations", "MAPE tok/s/GPU, speed of light",
                                      "MAPE tok/s/GPU, with the stack", "TPOT rms ms, with the stack",
                                      "MAPE TTFT, speed of light", "MAPE TTFT, with the stack"});
  auto row = [&](const std::string& label, const std::set<std::string>& cfgs) {
    check.add_row({label, cfgs.size(), pct(mape(pts, ref, cfgs)), pct(mape(cal, ref, cfgs)),
                   fmt("%.1f", tpot_rms_ms(in, cal, cfgs)), pct(ttft_mape(in, pts, cfgs)), pct(ttft_mape(in, cal, cfgs))});
  };
  for (const auto& [tp, cfgs] : cfgs_of_tp) row(std::to_string(tp), cfgs);
  row("all", all_cfgs);
  md << detail::markdown(check);

  // The 1R order with that stack, where all three TPs were fitted.
  Table rows = detail::report_table({"C", "TP2", "TP4", "TP8", "order", "llm-d order"});
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
    rows.add_row({c, fmt("%.1f", a->tokens_per_s_per_gpu), fmt("%.1f", b->tokens_per_s_per_gpu),
                  fmt("%.1f", d->tokens_per_s_per_gpu), mine, theirs});
  }
  if (n > 0)
    md << "\nThe single replicas with that stack:\n\n"
       << detail::markdown(rows) << "\nWith that stack the order matches llm-d's at " << matches << " of " << n << " concurrencies. ";
  else
    md << "\n";
  md << "TPOT and throughput are tied by the closed loop (each user's E2E is TTFT + (OSL - 1) x TPOT), so a stack "
        "read off TPOT reproduces throughput only as far as the simulator also gets right how many requests run at "
        "once and how much prefill shares their steps: the throughput columns test those, not the hardware. ";
  if (fits.count(4) && fits.count(8) && !fits.at(4).k_fixed && !fits.at(8).k_fixed) {
    const StackCostFit &f4 = fits.at(4), &f8 = fits.at(8);
    md << "TP4's stack costs " << fmt("%.1f", f4.a_s * 1e3) << " ms per step and runs at " << fmt("%.0f", 100 / f4.k)
       << " % of the speed of light; TP8's costs " << fmt("%.1f", f8.a_s * 1e3) << " ms per step at "
       << fmt("%.0f", 100 / f8.k) << " %. ";
    const bool more_a = f8.a_s > f4.a_s, more_k = f8.k > f4.k;
    if (more_a && more_k) md << "In llm-d's aggregated runs TP8 pays more both per step and per unit of work. ";
    else if (more_a || more_k)
      md << "In llm-d's aggregated runs TP8 pays more " << (more_a ? "per step" : "per unit of work") << " and not more "
         << (more_a ? "per unit of work" : "per step") << ". ";
    else md << "In llm-d's aggregated runs TP8's stack is not costlier than TP4's by either measure. ";
  }
  md << "This uses " << n_points
     << " llm-d TPOT points (digitized from plots; where markers overlapped, one value serves several points), so it "
        "sizes the stack; it does not say where its cost comes from.\n";
  return md.str();
}

}  // namespace tpbench
