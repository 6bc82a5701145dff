#include "harness/commands/fit_command.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "harness/common/error.hpp"
#include "harness/compare/fit.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/perf/inputs.hpp"
#include "tpbench/version.hpp"

namespace tpbench {
namespace {
std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) v.push_back(item);
  return v;
}
}  // namespace

int run_fit(const FitOptions& o, std::ostream& out) {
  if (!o.json.empty()) check_writable(o.json);
  const SystemProfile prof = resolve_profile(o.profile);
  const ModelSpec m = select_model(o.model, o.model_config);
  const ObservationSet ref = read_observations(o.reference);
  FitSpec spec;
  spec.train = split_list(o.train);
  if (spec.train.empty()) throw UsageError("--train needs at least one configuration");
  if (!o.params.empty()) spec.params = split_list(o.params);
  spec.isl = o.isl;
  spec.osl = o.osl;
  spec.max_evals = o.max_evals;
  const FitResult r = fit_parameters(ref, m, prof, PerfParams{}, spec);

  char line[256];
  out << "fitted on " << o.train << " (" << r.train.points.size() << " points, " << r.evaluations
      << " simulator evaluations); per user = " << r.train.per_user_def << "\n";
  for (const auto& [n, v] : r.values) {
    std::snprintf(line, sizeof line, "  %-20s %12.6g\n", n.c_str(), v);
    out << line;
  }
  std::snprintf(line, sizeof line, "training MAPE: tok/s/GPU %.1f%%, tok/s/user %.1f%%\n", r.train.mape_gpu, r.train.mape_user);
  out << line;
  if (!r.heldout.points.empty()) {
    out << "held-out configurations:\n" << comparison_table(r.heldout, o.per_point, /*flag_above_model=*/false);
    std::snprintf(line, sizeof line, "held-out MAPE tok/s/GPU: aggregated %.1f%%, PD %.1f%%\n", r.heldout_aggregated_mape_gpu,
                  r.heldout_pd_mape_gpu);
    out << line;
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
