#include "harness/commands/toy_command.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "harness/common/error.hpp"
#include "harness/common/split_list.hpp"
#include "harness/compare/observations.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/perf/toy_model.hpp"
#include "harness/sim/layout.hpp"
#include "tpbench/version.hpp"

namespace tpbench {
namespace {

// One configuration's curve, in the order the file lists its points.
struct Curve {
  std::string config;
  int num_gpus = 0;
  bool emulated = false;
  std::vector<ToyPoint> points;
  int skipped = 0;  // points that did not run, or have no throughput
};

std::vector<Curve> curves_of(const ObservationSet& set, const std::vector<std::string>& only) {
  std::vector<Curve> out;
  for (const Observation& o : set.points) {
    if (!only.empty() && std::find(only.begin(), only.end(), o.config) == only.end()) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const Curve& c) { return c.config == o.config; });
    if (it == out.end()) {
      out.push_back({o.config, o.num_gpus > 0 ? o.num_gpus : parse_layout(o.config).num_gpus(), false, {}, 0});
      it = out.end() - 1;
    }
    if (!o.not_runnable.empty() || !(o.tokens_per_s_per_gpu > 0) || o.concurrency < 1) {
      ++it->skipped;
      continue;
    }
    it->emulated = it->emulated || o.emulated;
    it->points.push_back({double(o.concurrency), o.tokens_per_s_per_gpu});
  }
  return out;
}

}  // namespace

int run_toy(const ToyOptions& o, std::ostream& out) {
  if (!o.json.empty()) check_writable(o.json);
  if (!(o.tolerance > 0)) throw UsageError("--tolerance must be positive");
  const std::vector<std::string> files = split_comma_list(o.curves);
  if (files.empty()) throw UsageError("--curves needs at least one points file");
  std::vector<std::string> only;
  for (const auto& c : split_comma_list(o.configs)) only.push_back(parse_layout(c).name());

  nlohmann::json doc;
  doc["schema"] = "tpbench.toy/1";
  doc["tool"] = {{"version", kVersion}, {"git_commit", kGitCommit}};
  doc["model"] = "per-GPU tok/s = min(C, alpha N) / (tau N): segment AB (C <= alpha N) linear, BC flat";
  doc["tolerance"] = o.tolerance;
  doc["sources"] = nlohmann::json::array();
  // Every file read and every --configs name checked before anything is printed.
  std::vector<ObservationSet> sets;
  for (const std::string& file : files) sets.push_back(read_observations(file, o.sweep_context));
  for (const std::string& c : only) {
    bool found = false;
    for (const auto& set : sets)
      for (const auto& p : set.points) found = found || p.config == c;
    if (!found) throw UsageError("--configs: '" + c + "' is in none of the --curves files");
  }
  int fitted = 0;
  char line[320];
  for (size_t f_i = 0; f_i < sets.size(); ++f_i) {
    const ObservationSet& set = sets[f_i];
    const std::string& file = files[f_i];
    const std::vector<Curve> curves = curves_of(set, only);
    out << "toy model fitted to " << set.origin << " (" << set.kind << "): tau = seconds per token per user on AB, "
        << "alpha = running requests per GPU at the knee\n";
    std::snprintf(line, sizeof line, "%-16s %4s %6s %8s %9s %8s %10s %8s  %s\n", "config", "GPUs", "points", "tau ms",
                  "alpha/GPU", "knee C", "plateau", "rms log", "fails (model vs curve)");
    out << line;
    nlohmann::json src;
    src["file"] = file;
    src["kind"] = set.kind;
    src["curves"] = nlohmann::json::array();
    bool any_emulated = false;
    for (const Curve& c : curves) {
      if (c.points.size() < 2) {
        std::snprintf(line, sizeof line, "%-16s %4d %6zu  too few points with throughput to fit\n", c.config.c_str(),
                      c.num_gpus, c.points.size());
        out << line;
        continue;
      }
      const ToyFit f = fit_toy(c.points, c.num_gpus);
      ++fitted;
      any_emulated = any_emulated || c.emulated;
      const std::string fails = f.failures(o.tolerance);
      std::snprintf(line, sizeof line, "%-16s %4d %6zu %8.2f %9.3f %8.1f %10.1f %8.3f  %s\n",
                    (c.config + (c.emulated ? "*" : "")).c_str(), c.num_gpus, c.points.size(), f.model.tau * 1e3,
                    f.model.alpha, f.model.alpha * c.num_gpus, f.model.alpha / f.model.tau, f.rms_log_error,
                    fails.c_str());
      out << line;
      nlohmann::json j;
      j["config"] = c.config;
      j["num_gpus"] = c.num_gpus;
      j["emulated"] = c.emulated;
      j["tau_s"] = f.model.tau;
      j["alpha_per_gpu"] = f.model.alpha;
      j["knee_concurrency"] = f.model.alpha * c.num_gpus;
      j["plateau_tokens_per_s_per_gpu"] = f.model.alpha / f.model.tau;
      j["rms_log_error"] = f.rms_log_error;
      j["max_abs_rel_error"] = f.max_abs_rel_error;
      j["skipped_points"] = c.skipped;
      j["points"] = nlohmann::json::array();
      for (const ToyResidual& r : f.residuals) {
        j["points"].push_back({{"concurrency", r.concurrency}, {"tokens_per_s_per_gpu", r.measured},
                               {"toy_tokens_per_s_per_gpu", r.model}, {"rel_error", r.rel_error},
                               {"segment", r.on_ab ? "AB" : "BC"}, {"fails", std::abs(r.rel_error) > o.tolerance}});
        if (o.per_point) {
          std::snprintf(line, sizeof line, "    C=%-6g %s  curve %9.2f  toy %9.2f  %+6.1f%%\n", r.concurrency,
                        r.on_ab ? "AB" : "BC", r.measured, r.model, 100 * r.rel_error);
          out << line;
        }
      }
      src["curves"].push_back(j);
    }
    if (any_emulated) out << "* measured on one GPU with --emulate-tp: TP>1 collective times came from a system profile\n";
    doc["sources"].push_back(src);
  }
  if (fitted == 0)
    throw UsageError("no curve with two or more points with throughput" +
                     std::string(only.empty() ? "" : " among the --configs given"));
  std::snprintf(line, sizeof line,
                "plateau = alpha / tau tok/s/GPU (segment BC); fails: points where the toy model is off by more than "
                "%.0f %%, with the segment they fall on\n",
                100 * o.tolerance);
  out << line;
  if (!o.json.empty()) {
    write_file_atomic(o.json, doc.dump(2) + "\n");
    out << "wrote " << o.json << "\n";
  }
  return 0;
}

}  // namespace tpbench
