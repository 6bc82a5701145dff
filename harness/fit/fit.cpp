#include "harness/fit/fit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "harness/common/error.hpp"
#include "harness/fit/nelder_mead.hpp"
#include "harness/fit/symmetric_eigen.hpp"
#include "harness/perf/kv_capacity.hpp"
#include "harness/sim/serving_sim.hpp"

namespace tpbench {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Each parameter is searched in an unconstrained u and mapped into its physical range, so the
// fit cannot report an efficiency above the profile's ceiling or a negative overhead:
// efficiencies in (0.2, 1] via a logistic, everything else as exp(u) x unit (ms for overheads,
// us for hop latency, GiB for the reserve); a per-TP step-time scale as 1 + exp(u), never faster
// than the hardware.
bool is_efficiency(const std::string& n) { return n == "hbm_efficiency" || n == "compute_efficiency"; }
bool is_time_scale(const std::string& n) { return step_time_scale_tp_of(n) > 0; }
// step_overhead_s and the per-TP step_overhead_tp<n>_s: seconds, searched around milliseconds.
bool is_step_overhead(const std::string& n) { return n.rfind("step_overhead_", 0) == 0; }
double unit_of(const std::string& n) {
  return is_step_overhead(n) ? 1e-3 : n == "collective_hop_latency_s" ? 1e-6 : 1.0;
}
double to_value(const std::string& n, double u) {
  if (is_efficiency(n)) return 0.2 + 0.8 / (1.0 + std::exp(-u));
  if (is_time_scale(n)) return std::min(1.0 + std::exp(u), param_upper_bound(n));
  return std::min(std::exp(u) * unit_of(n), param_upper_bound(n));  // set_param refuses more
}
double to_u(const std::string& n, double v) {
  if (is_efficiency(n)) {
    const double f = std::clamp((v - 0.2) / 0.8, 1e-3, 1 - 1e-3);
    return std::log(f / (1 - f));
  }
  if (is_time_scale(n)) return std::log(std::max(1e-9, v - 1.0));
  return std::log(std::max(1e-9, v / unit_of(n)));
}

double start_value(const std::string& name, const PerfParams& p, const ModelSpec& m, const SystemProfile& prof) {
  if (is_step_overhead(name)) return get_param(p, name) > 0 ? get_param(p, name) : 1e-3;
  if (name == "collective_hop_latency_s") return p.collective_hop_latency_s > 0 ? p.collective_hop_latency_s : 2e-6;
  if (is_efficiency(name)) return std::min(0.95, get_param(p, name));
  if (is_time_scale(name)) return std::max(1.1, get_param(p, name));
  if (name == "memory_reserve_gib") {
    if (p.memory_reserve_bytes >= 0) return std::max(0.1, p.memory_reserve_bytes / kGiB);
    return (prof.runtime_reserve_bytes + activation_peak_bytes(m, 4, p.max_num_batched_tokens, p.max_num_seqs)) / kGiB;
  }
  return get_param(p, name);
}

// Parameters at a bound of their search range carry no ridge information (the data pushes them
// out of range), so they are reported apart.
bool at_bound(const std::string& n, double v) {
  if (is_efficiency(n)) return v > 0.999 || v < 0.2001;
  // A scale whose 5 % probe down would cross 1 (faster than the hardware, outside the search).
  if (is_time_scale(n)) return v < 1.06 || v * 1.06 > param_upper_bound(n);
  // Near zero, or so near the upper cap that the probe's 5 % step up would pass it.
  return v < 1e-3 * unit_of(n) || v * 1.06 > param_upper_bound(n);
}

Identifiability identifiability_at(const PerfParams& fitted, const std::vector<std::string>& names,
                                   const std::function<std::vector<double>(const PerfParams&)>& residuals) {
  Identifiability id;
  std::vector<std::string> free;
  for (const auto& n : names) (at_bound(n, get_param(fitted, n)) ? id.at_bound : free).push_back(n);
  id.params = free;
  if (free.empty()) return id;
  // Central differences in log(parameter), 5 % each way: the simulator is piecewise smooth
  // (integer batches), so a step much smaller would see its steps rather than its slope.
  constexpr double h = 0.05;
  std::vector<std::vector<double>> jac;  // jac[p][k]
  size_t nres = 0;
  for (const auto& n : free) {
    PerfParams up = fitted, down = fitted;
    const double v = get_param(fitted, n);
    set_param(up, n, v * std::exp(h));
    set_param(down, n, v * std::exp(-h));
    const auto ru = residuals(up), rd = residuals(down);
    std::vector<double> col(ru.size());
    for (size_t k = 0; k < ru.size(); ++k) col[k] = (ru[k] - rd[k]) / (2 * h);
    nres = ru.size();
    jac.push_back(col);
  }
  std::vector<std::vector<double>> jtj(free.size(), std::vector<double>(free.size(), 0.0));
  for (size_t a = 0; a < free.size(); ++a)
    for (size_t b = 0; b < free.size(); ++b)
      for (size_t k = 0; k < nres; ++k) jtj[a][b] += jac[a][k] * jac[b][k];
  const SymmetricEigen e = symmetric_eigen(jtj);
  for (size_t i = 0; i < e.values.size(); ++i) {
    id.strength.push_back(std::sqrt(std::max(0.0, e.values[i]) / double(std::max<size_t>(1, nres))));
    id.directions.push_back(e.vectors[i]);
  }
  if (id.strength.size() >= 2 && id.strength.front() > 0) {
    id.weakest_over_strongest = id.strength.back() / id.strength.front();
    id.ridge = id.weakest_over_strongest < Identifiability::kRidgeRatio;
  }
  return id;
}

// A parameter the ridge can be followed to: one whose speed-of-light value is a bound of its
// fitted range (efficiencies and step-time scales 1, overheads and hop latency 0). collective_scale (1 is mid-range:
// 0 is free communication) and memory_reserve_gib (the profile's reserve) have no such end.
bool pinnable(const std::string& n) {
  return is_efficiency(n) || is_time_scale(n) || is_step_overhead(n) || n == "collective_hop_latency_s";
}
double speed_of_light_value(const std::string& n) { return is_efficiency(n) || is_time_scale(n) ? 1.0 : 0.0; }

// The two parameters a ridge trades, A first (see RidgePoint), or a reason why there are none.
// Components are turned to "cost" orientation (an efficiency's sign flipped: more efficiency is
// less cost) so that a trade is a pair of opposite signs.
std::string ridge_pair(const Identifiability& id, std::string& a_name, std::string& b_name) {
  const auto& d = id.directions.back();
  auto cost = [&](size_t i) { return is_efficiency(id.params[i]) ? -d[i] : d[i]; };
  constexpr double kMin = 0.2;
  size_t a = 0;
  for (size_t i = 1; i < d.size(); ++i)
    if (std::fabs(d[i]) > std::fabs(d[a])) a = i;
  size_t b = d.size();
  for (size_t i = 0; i < d.size(); ++i)
    if (i != a && std::fabs(d[i]) >= kMin && cost(i) * cost(a) < 0 && (b == d.size() || std::fabs(d[i]) > std::fabs(d[b])))
      b = i;
  if (b == d.size()) return "its direction does not trade two parameters against each other";
  for (size_t i : {a, b})
    if (!pinnable(id.params[i]))
      return id.params[i] + " has no speed-of-light bound to follow the ridge to";
  a_name = id.params[a];
  b_name = id.params[b];
  return "";
}

}  // namespace

ObservationSet simulate_observations(const ObservationSet& want, const ModelSpec& m, const SystemProfile& prof,
                                     const PerfParams& par, int64_t isl, int64_t osl,
                                     const std::vector<std::string>& only, const StepScheme& scheme) {
  ObservationSet out;
  out.origin = "model";
  out.kind = ObservationKind::Prediction;
  out.per_user_def = PerUserMetric::OutDivConc;
  for (const auto& w : want.points) {
    if (!only.empty() && !contains(only, w.config)) continue;
    ServingConfig cfg;
    cfg.concurrency = w.concurrency;
    cfg.isl = isl;
    cfg.osl = osl;
    cfg.scheme = scheme;
    const ServingPoint p = simulate_serving(parse_layout(w.config), m, prof, par, cfg);
    Observation o;
    o.config = w.config;
    o.concurrency = w.concurrency;
    o.num_gpus = p.num_gpus;
    if (p.feasible) {
      o.tokens_per_s_per_gpu = p.tokens_per_s_per_gpu;
      o.per_user_out_div_conc = p.per_user_out_div_conc;
      o.per_user_inv_tpot = p.per_user_inv_tpot;
    } else {  // not runnable: zero throughput (a large error, not a silent skip)
      o.tokens_per_s_per_gpu = o.per_user_out_div_conc = o.per_user_inv_tpot = 1e-9;
    }
    out.points.push_back(o);
  }
  return out;
}

namespace {
// The fitted model against every configuration it was not trained on; aggregated and PD MAPE of
// tok/s/GPU, NaN where that kind has none.
Comparison heldout_comparison(const ObservationSet& ref, const ModelSpec& m, const SystemProfile& prof,
                              const PerfParams& par, const FitSpec& spec, const std::vector<std::string>& held,
                              double& aggregated, double& pd) {
  aggregated = pd = std::numeric_limits<double>::quiet_NaN();
  if (held.empty()) return {};
  Comparison c = compare_observations(ref, simulate_observations(ref, m, prof, par, spec.isl, spec.osl, held, spec.scheme), std::nullopt);
  c.unmatched.clear();  // the training points, left out on purpose
  aggregated = mape_gpu_where(c, [](const std::string& cfg) { return !parse_layout(cfg).disaggregated; });
  pd = mape_gpu_where(c, [](const std::string& cfg) { return parse_layout(cfg).disaggregated; });
  return c;
}

// The refits along r's ridge (RidgePoint): A pinned at its speed-of-light value, then at fractions
// of the way to A_far, and B pinned at its speed-of-light value (where A ends at A_far).
std::vector<RidgePoint> follow_ridge(const ObservationSet& reference, const ModelSpec& m, const SystemProfile& prof,
                                     const FitSpec& spec, const FitResult& r) {
  const std::string& a = r.ridge_pair[0];
  const std::string& b = r.ridge_pair[1];
  auto refit = [&](double position, const std::string& pinned, double value, PerfParams* fitted) {
    FitSpec sub = spec;
    sub.progress_label = "fit: refit along the ridge at position " + std::to_string(position).substr(0, 4);
    sub.explore_ridge = false;
    sub.analyse = false;
    sub.params.erase(std::find(sub.params.begin(), sub.params.end(), pinned));
    PerfParams from = r.fitted;
    set_param(from, pinned, value);
    const FitResult f = fit_parameters(reference, m, prof, from, sub);
    if (fitted) *fitted = f.fitted;
    RidgePoint q;
    q.position = position;
    q.pinned = pinned;
    q.pinned_value = value;
    q.values = f.values;
    q.objective = f.objective;
    q.evaluations = f.evaluations;
    q.converged = f.converged;
    q.on_ridge = f.converged && std::sqrt(f.objective) <= std::sqrt(r.objective) + RidgePoint::kRidgeTolerance;
    q.heldout_aggregated_mape_gpu = f.heldout_aggregated_mape_gpu;
    q.heldout_pd_mape_gpu = f.heldout_pd_mape_gpu;
    return q;
  };
  const double a0 = speed_of_light_value(a);
  PerfParams at_b;
  const RidgePoint first = refit(0.0, a, a0, nullptr), last = refit(1.0, b, speed_of_light_value(b), &at_b);
  const double a_far = get_param(at_b, a);
  std::vector<RidgePoint> out{first};
  for (int i = 1; i + 1 < RidgePoint::kPoints; ++i) {
    const double t = double(i) / (RidgePoint::kPoints - 1);
    out.push_back(refit(t, a, a0 + t * (a_far - a0), nullptr));
  }
  out.push_back(last);
  return out;
}

// The training configurations by their layout names, once the parameters are known and
// fittable and every training configuration is in `ref` and runs.
std::vector<std::string> checked_training_set(const ObservationSet& ref, const ModelSpec& m, const SystemProfile& prof,
                                              const PerfParams& start, const FitSpec& spec) {
  if (spec.params.empty() || spec.params.size() > 4)
    throw UsageError("fit takes one to four parameters, got " + std::to_string(spec.params.size()));
  for (const auto& n : spec.params) {
    if (n == "kv_on_demand") throw UsageError("kv_on_demand is a switch (0 or 1), not a parameter to fit");
    if (!contains(fittable_param_names(), n) && per_tp_param_of(n) == 0) {
      get_param(start, n);  // throws for unknown names
      throw UsageError("'" + n + "' is the serving engine's configuration, not a parameter to fit");
    }
    if (std::count(spec.params.begin(), spec.params.end(), n) > 1) throw UsageError("parameter '" + n + "' given twice");
  }
  std::vector<std::string> train;
  std::set<int> train_tps;
  for (const auto& t : spec.train) {
    const Layout l = parse_layout(t);
    train.push_back(l.name());
    for (const Pool& pool : {l.replicas, l.prefill, l.decode})
      if (pool.tp > 0) train_tps.insert(pool.tp);
  }
  // A TP's own step cost can only be learnt from configurations that run that TP.
  for (const auto& n : spec.params)
    if (const int tp = per_tp_param_of(n); tp > 0 && !train_tps.count(tp))
      throw UsageError("parameter '" + n + "' needs a training configuration of TP" + std::to_string(tp) +
                       " (the training set has none)");
  for (const auto& t : train) {
    bool found = false;
    for (const auto& p : ref.points) found = found || p.config == t;
    if (!found) throw UsageError("training configuration '" + t + "' is not in '" + ref.origin + "'");
  }
  // A training configuration the model cannot run at all (it does not fit in memory) has nothing
  // to fit: its zero throughput would be "fitted" to 100 % error.
  for (const auto& t : train) {
    ServingConfig cfg;
    cfg.isl = spec.isl;
    cfg.osl = spec.osl;
    cfg.scheme = spec.scheme;
    const ServingPoint p = simulate_serving(parse_layout(t), m, prof, start, cfg);
    if (!p.feasible) throw UsageError("training configuration " + t + " cannot run: " + p.reason);
  }
  return train;
}

// The held-out aggregated configurations' MAPE of tok/s/GPU per TP.
void heldout_by_tp(FitResult& r) {
  std::map<int, std::set<std::string>> held_by_tp;
  for (const auto& q : r.heldout.points)
    if (const Layout l = parse_layout(q.config); !l.disaggregated) held_by_tp[l.replicas.tp].insert(q.config);
  for (const auto& [tp, configs] : held_by_tp) {
    const auto& cfgs = configs;  // clang before 16 cannot capture a structured binding
    r.heldout_aggregated_by_tp[tp] = {mape_gpu_where(r.heldout, [&](const std::string& c) { return cfgs.count(c) > 0; }),
                                      int(cfgs.size())};
  }
}

}  // namespace

FitResult fit_parameters(const ObservationSet& reference, const ModelSpec& m, const SystemProfile& prof,
                         const PerfParams& start, const FitSpec& spec) {
  // A reference that is itself a prediction may list points it could not run: nothing to fit.
  ObservationSet ref = reference;
  ref.points.erase(std::remove_if(ref.points.begin(), ref.points.end(),
                                  [](const Observation& o) { return !o.not_runnable.empty(); }),
                   ref.points.end());
  if (ref.points.empty()) throw UsageError("'" + reference.origin + "' has no runnable point to fit");
  const std::vector<std::string> train = checked_training_set(ref, m, prof, start, spec);
  FitResult r;
  r.start = start;
  std::vector<double> x0, step;
  for (const auto& n : spec.params) {
    x0.push_back(to_u(n, start_value(n, start, m, prof)));
    step.push_back(0.3);
  }
  auto params_of = [&](const std::vector<double>& x) {
    PerfParams p = start;
    for (size_t i = 0; i < x.size(); ++i) set_param(p, spec.params[i], to_value(spec.params[i], x[i]));
    return p;
  };
  const PerUserMetric def = ref.per_user_def;
  // Log ratios model / reference of tok/s/GPU and tok/s/user over the training points, with 0
  // where either side is missing (so every call returns as many, in the same order).
  auto residuals = [&](const PerfParams& par) {
    const ObservationSet sim = simulate_observations(ref, m, prof, par, spec.isl, spec.osl, train, spec.scheme);
    std::vector<double> out;
    for (size_t i = 0, j = 0; i < ref.points.size(); ++i) {
      const auto& rp = ref.points[i];
      if (!contains(train, rp.config)) continue;
      const auto& sp = sim.points[j++];
      for (const auto& [a, b] : {std::pair{rp.tokens_per_s_per_gpu, sp.tokens_per_s_per_gpu},
                                 std::pair{per_user(rp, def), per_user(sp, def)}})
        out.push_back(a > 0 && b > 0 ? std::log(b / a) : 0.0);
    }
    return out;
  };
  int evals = 0;
  double best = std::numeric_limits<double>::infinity();
  auto last_report = std::chrono::steady_clock::now();
  auto objective = [&](const std::vector<double>& x) {
    const std::vector<double> res = residuals(params_of(x));
    double sum = 0;
    for (double l : res) sum += l * l;
    const double value = res.empty() ? 0.0 : sum / double(res.size());
    ++evals;
    best = std::min(best, value);
    if (spec.progress && std::chrono::steady_clock::now() - last_report > std::chrono::seconds(3)) {
      last_report = std::chrono::steady_clock::now();
      char line[160];
      std::snprintf(line, sizeof line, "%s: %d simulator evaluations (at most %d), training RMS log error %.4f",
                    spec.progress_label.c_str(), evals, spec.max_evals, std::sqrt(best));
      spec.progress(line);
    }
    return value;
  };
  const MinimizeResult mr = nelder_mead(objective, x0, step, spec.max_evals);
  r.fitted = params_of(mr.x);
  r.objective = mr.value;
  r.evaluations = mr.evaluations;
  r.converged = mr.converged;
  for (const auto& n : spec.params) r.values.emplace_back(n, get_param(r.fitted, n));
  if (spec.analyse) r.identifiability = identifiability_at(r.fitted, spec.params, residuals);

  std::vector<std::string> held;
  for (const auto& p : ref.points)
    if (!contains(train, p.config) && !contains(held, p.config)) held.push_back(p.config);
  r.train = compare_observations(ref, simulate_observations(ref, m, prof, r.fitted, spec.isl, spec.osl, train, spec.scheme), std::nullopt);
  r.heldout = heldout_comparison(ref, m, prof, r.fitted, spec, held, r.heldout_aggregated_mape_gpu, r.heldout_pd_mape_gpu);
  heldout_by_tp(r);

  if (spec.explore_ridge && r.identifiability.ridge) {
    if (held.empty()) r.ridge_not_explored = "no held-out configuration to compare along it";
    else r.ridge_not_explored = ridge_pair(r.identifiability, r.ridge_pair[0], r.ridge_pair[1]);
  }
  if (spec.explore_ridge && r.identifiability.ridge && r.ridge_not_explored.empty())
    r.ridge = follow_ridge(reference, m, prof, spec, r);
  return r;
}

}  // namespace tpbench
