#include "harness/commands/fit_command.hpp"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "harness/common/error.hpp"
#include "harness/common/split_list.hpp"
#include "harness/compare/fit.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/perf/inputs.hpp"
#include "tpbench/version.hpp"

namespace tpbench {
namespace {
// One line per analysed direction that is weak, naming its parameters; or one line saying the
// training points determine every parameter.
std::string identifiability_text(const Identifiability& id) {
  std::ostringstream t;
  char line[160];
  for (const auto& n : id.at_bound) t << "  " << n << " is at a bound of its range (not analysed)\n";
  if (id.params.size() < 2) return t.str();
  std::snprintf(line, sizeof line, "identifiability: weakest / strongest direction = %.3g", id.weakest_over_strongest);
  t << line;
  if (!id.ridge) {
    t << " (the training points determine each parameter)\n";
    return t.str();
  }
  t << ": a RIDGE, the training points cannot tell these apart, so held-out errors depend on where along it the "
       "fit stops:\n   ";
  const auto& d = id.directions.back();
  for (size_t i = 0; i < d.size(); ++i)
    if (std::fabs(d[i]) >= 0.2) {
      std::snprintf(line, sizeof line, " %+.2f x log %s", d[i], id.params[i].c_str());
      t << line;
    }
  t << "\n   (moving along that combination changes the training residuals by " << std::setprecision(3)
    << id.strength.back() << " per unit, against " << id.strength.front() << " along the strongest)\n";
  return t.str();
}

nlohmann::json identifiability_json(const Identifiability& id) {
  nlohmann::json j;
  j["parameters"] = id.params;
  j["at_bound"] = id.at_bound;
  j["strength"] = id.strength;
  j["directions"] = id.directions;
  j["weakest_over_strongest"] = id.weakest_over_strongest;
  j["ridge"] = id.ridge;
  return j;
}

// The ridge's ends and the held-out range they span (the optimum included), or "" without a ridge.
std::string ridge_ends_text(const FitResult& r) {
  if (r.ridge_ends.empty()) return "";
  std::ostringstream t;
  char line[256];
  std::snprintf(line, sizeof line,
                "along the ridge: each end pins one parameter at its speed-of-light value and refits the rest "
                "(optimum: training RMS log error %.4f)\n",
                std::sqrt(r.objective));
  t << line;
  double lo_a = r.heldout_aggregated_mape_gpu, hi_a = lo_a, lo_p = r.heldout_pd_mape_gpu, hi_p = lo_p;
  for (const RidgeEnd& e : r.ridge_ends) {
    t << "  " << e.pinned << " pinned:";
    for (const auto& [n, v] : e.values) {
      std::snprintf(line, sizeof line, " %s %.4g", n.c_str(), v);
      t << line;
    }
    std::snprintf(line, sizeof line, "\n      training RMS log error %.4f (%s); held-out MAPE tok/s/GPU aggregated %.1f%%, PD %.1f%%\n",
                  std::sqrt(e.objective), e.on_ridge ? "on the ridge" : "OFF the ridge: the training points reject it",
                  e.heldout_aggregated_mape_gpu, e.heldout_pd_mape_gpu);
    t << line;
    if (!e.on_ridge) continue;
    lo_a = std::fmin(lo_a, e.heldout_aggregated_mape_gpu), hi_a = std::fmax(hi_a, e.heldout_aggregated_mape_gpu);
    lo_p = std::fmin(lo_p, e.heldout_pd_mape_gpu), hi_p = std::fmax(hi_p, e.heldout_pd_mape_gpu);
  }
  std::snprintf(line, sizeof line,
                "held-out MAPE tok/s/GPU anywhere on the ridge: aggregated %.1f-%.1f%%, PD %.1f-%.1f%% "
                "(the training points cannot choose within these ranges)\n",
                lo_a, hi_a, lo_p, hi_p);
  t << line;
  return t.str();
}

nlohmann::json ridge_ends_json(const std::vector<RidgeEnd>& ends) {
  nlohmann::json a = nlohmann::json::array();
  auto num = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  for (const RidgeEnd& e : ends) {
    nlohmann::json j;
    j["pinned"] = e.pinned;
    j["parameters"] = nlohmann::json::object();
    for (const auto& [n, v] : e.values) j["parameters"][n] = v;
    j["objective"] = e.objective;
    j["evaluations"] = e.evaluations;
    j["converged"] = e.converged;
    j["on_ridge"] = e.on_ridge;
    j["heldout_aggregated_mape_tokens_per_s_per_gpu"] = num(e.heldout_aggregated_mape_gpu);
    j["heldout_pd_mape_tokens_per_s_per_gpu"] = num(e.heldout_pd_mape_gpu);
    a.push_back(j);
  }
  return a;
}

}  // namespace

int run_fit(const FitOptions& o, std::ostream& out) {
  if (!o.json.empty()) check_writable(o.json);
  const SystemProfile prof = resolve_profile(o.profile);
  const ModelSpec m = select_model(o.model, o.model_config);
  const ObservationSet ref = read_observations(o.reference, o.sweep_context);
  FitSpec spec;
  spec.train = split_comma_list(o.train);
  if (spec.train.empty()) throw UsageError("--train needs at least one configuration");
  if (!o.params.empty()) spec.params = split_comma_list(o.params);
  spec.isl = o.isl;
  spec.osl = o.osl;
  spec.max_evals = o.max_evals;
  const FitResult r = fit_parameters(ref, m, prof, PerfParams{}, spec);

  char line[256];
  out << "fitted on " << o.train << " (" << r.train.points.size() << " points, " << r.evaluations
      << " simulator evaluations, " << (r.converged ? "converged" : "NOT converged: raise --max-evals")
      << "); per user = " << r.train.per_user_def << "\n";
  for (const auto& [n, v] : r.values) {
    std::snprintf(line, sizeof line, "  %-20s %12.6g\n", n.c_str(), v);
    out << line;
  }
  out << identifiability_text(r.identifiability);
  std::snprintf(line, sizeof line, "training MAPE: tok/s/GPU %.1f%%, tok/s/user %.1f%%\n", r.train.mape_gpu, r.train.mape_user);
  out << line;
  if (!r.heldout.points.empty()) {
    out << "held-out configurations:\n" << comparison_table(r.heldout, o.per_point, /*flag_above_model=*/false);
    std::snprintf(line, sizeof line, "held-out MAPE tok/s/GPU: aggregated %.1f%%, PD %.1f%%\n", r.heldout_aggregated_mape_gpu,
                  r.heldout_pd_mape_gpu);
    out << line;
    out << ridge_ends_text(r);
  } else {
    out << "no held-out configuration (every reference configuration was trained on)\n";
  }
  if (!o.json.empty()) {
    nlohmann::json j;
    j["schema"] = "tpbench.fit/1";
    j["tool"] = {{"version", kVersion}, {"git_commit", kGitCommit}};
    j["reference"] = o.reference;
    j["profile"] = prof.name;
    j["model"] = m.name;
    j["train"] = spec.train;
    j["parameters"] = nlohmann::json::object();
    for (const auto& [n, v] : r.values) j["parameters"][n] = v;
    j["objective"] = r.objective;
    j["evaluations"] = r.evaluations;
    j["converged"] = r.converged;
    j["identifiability"] = identifiability_json(r.identifiability);
    j["ridge_ends"] = ridge_ends_json(r.ridge_ends);
    j["train_mape_tokens_per_s_per_gpu"] = r.train.mape_gpu;
    j["train_mape_tokens_per_s_per_user"] = r.train.mape_user;
    auto num = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
    j["heldout_aggregated_mape_tokens_per_s_per_gpu"] = num(r.heldout_aggregated_mape_gpu);
    j["heldout_pd_mape_tokens_per_s_per_gpu"] = num(r.heldout_pd_mape_gpu);
    if (!r.heldout.points.empty()) j["heldout"] = comparison_to_json(r.heldout, /*flag_above_model=*/false);
    std::string set;
    for (const auto& [n, v] : r.values) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6g", v);
      set += " --set " + n + "=" + buf;
    }
    j["predict_arguments"] = set.empty() ? set : set.substr(1);
    write_file_atomic(o.json, j.dump(2) + "\n");
    out << "wrote " << o.json << "\n";
  }
  return 0;
}

}  // namespace tpbench
