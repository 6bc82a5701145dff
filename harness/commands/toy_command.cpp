#include "harness/commands/toy_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "harness/common/error.hpp"
#include "harness/common/split_list.hpp"
#include "harness/compare/observations.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/perf/toy_model.hpp"
#include "harness/sim/layout.hpp"
#include "harness/io/provenance.hpp"

namespace tpbench {
namespace {

// One configuration's curve, in the order the file lists its points, and its fit (none with
// fewer than two points with throughput).
struct Curve {
  std::string config;
  int num_gpus = 0;
  bool emulated = false;
  std::vector<ToyPoint> points;
  int skipped = 0;  // points that did not run, or have no throughput
  std::optional<ToyFit> fit;
};

struct Source {
  std::string file;
  ObservationSet set;
  std::vector<Curve> curves;
};

std::vector<Curve> curves_of(const ObservationSet& set, const std::vector<std::string>& only) {
  std::vector<Curve> out;
  for (const Observation& o : set.points) {
    if (!only.empty() && std::find(only.begin(), only.end(), o.config) == only.end()) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const Curve& c) { return c.config == o.config; });
    if (it == out.end()) {
      Curve c;
      c.config = o.config;
      c.num_gpus = o.num_gpus > 0 ? o.num_gpus : parse_layout(o.config).num_gpus();
      out.push_back(c);
      it = out.end() - 1;
    }
    if (!o.not_runnable.empty() || !(o.tokens_per_s_per_gpu > 0) || o.concurrency < 1) {
      ++it->skipped;
      continue;
    }
    it->emulated = it->emulated || o.emulated;
    it->points.push_back({double(o.concurrency), o.tokens_per_s_per_gpu});
  }
  for (Curve& c : out)
    if (c.points.size() >= 2) c.fit = fit_toy(c.points, c.num_gpus);
  return out;
}

std::string num(const char* format, double v) {
  char b[48];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

// The table's tau, alpha, knee and plateau cells: a bound or "-" where the curve does not
// determine the quantity (ToyKnee).
struct Cells {
  std::string tau, alpha, knee, plateau;
};
Cells cells_of(const ToyFit& f, int n) {
  const double tau = f.model.tau, alpha = f.model.alpha;
  switch (f.knee) {
    case ToyKnee::AboveData:
      return {num("%.2f", tau * 1e3), num(">=%.3f", alpha), num(">=%.1f", alpha * n), num(">=%.1f", alpha / tau)};
    case ToyKnee::BelowData:
      return {"-", "-", num("<=%.1f", alpha * n), num("%.1f", alpha / tau)};
    default:
      return {num("%.2f", tau * 1e3), num("%.3f", alpha), num("%.1f", alpha * n), num("%.1f", alpha / tau)};
  }
}

const char* knee_name(ToyKnee k) {
  return k == ToyKnee::AboveData ? "above_data" : k == ToyKnee::BelowData ? "below_data" : "within_data";
}

nlohmann::json curve_json(const Curve& c, double tolerance) {
  nlohmann::json j;
  j["config"] = c.config;
  j["num_gpus"] = c.num_gpus;
  j["emulated"] = c.emulated;
  j["skipped_points"] = c.skipped;
  j["fitted"] = c.fit.has_value();
  if (!c.fit) {
    j["points_with_throughput"] = c.points.size();
    return j;
  }
  const ToyFit& f = *c.fit;
  const bool tau_known = f.knee != ToyKnee::BelowData, alpha_known = f.knee == ToyKnee::Within;
  // A bound is written as the bound, named by "knee"; an undetermined tau as null.
  j["knee"] = knee_name(f.knee);
  j["tau_s"] = tau_known ? nlohmann::json(f.model.tau) : nlohmann::json(nullptr);
  j["alpha_per_gpu"] = tau_known ? nlohmann::json(f.model.alpha) : nlohmann::json(nullptr);
  j["knee_concurrency"] = f.model.alpha * c.num_gpus;
  j["plateau_tokens_per_s_per_gpu"] = f.model.alpha / f.model.tau;
  j["bounds"] = alpha_known ? "none"
                : f.knee == ToyKnee::AboveData
                    ? "alpha_per_gpu, knee_concurrency and plateau_tokens_per_s_per_gpu are lower bounds"
                    : "knee_concurrency is an upper bound; tau and alpha undetermined";
  j["rms_log_error"] = f.rms_log_error;
  j["max_abs_rel_error"] = f.max_abs_rel_error;
  j["points"] = nlohmann::json::array();
  for (const ToyResidual& r : f.residuals)
    j["points"].push_back({{"concurrency", r.concurrency}, {"tokens_per_s_per_gpu", r.measured},
                           {"toy_tokens_per_s_per_gpu", r.model}, {"rel_error", r.rel_error},
                           {"segment", r.on_ab ? "AB" : "BC"}, {"fails", std::abs(r.rel_error) > tolerance}});
  return j;
}

}  // namespace

int run_toy(const ToyOptions& o, std::ostream& out) {
  if (!o.json.empty()) check_writable(o.json, split_comma_list(o.curves));
  if (!(o.tolerance > 0) || o.tolerance > 10) throw UsageError("--tolerance must be in (0, 10] (a fraction)");
  const std::vector<std::string> files = split_comma_list(o.curves);
  if (files.empty()) throw UsageError("--curves needs at least one points file");
  std::vector<std::string> only;
  for (const auto& c : split_comma_list(o.configs)) only.push_back(parse_layout(c).name());

  // Every file read, every --configs name checked and every curve fitted before anything is
  // printed: an error leaves no half table.
  std::vector<Source> sources;
  for (const std::string& file : files) sources.push_back({file, read_observations(file, o.sweep), {}});
  {
    std::vector<const ObservationSet*> sets;
    for (const auto& s : sources) sets.push_back(&s.set);
    check_selection_used(o.sweep, sets);
  }
  for (const std::string& c : only) {
    bool found = false;
    for (const auto& s : sources)
      for (const auto& p : s.set.points) found = found || p.config == c;
    if (!found) throw UsageError("--configs: '" + c + "' is in none of the --curves files");
  }
  int fitted = 0;
  for (Source& s : sources) {
    s.curves = curves_of(s.set, only);
    for (const Curve& c : s.curves) fitted += c.fit ? 1 : 0;
  }
  if (fitted == 0)
    throw UsageError("no curve with two or more points with throughput" +
                     std::string(only.empty() ? "" : " among the --configs given"));

  nlohmann::json doc;
  doc["schema"] = "tpbench.toy/1";
  add_provenance(doc, {o.command_line, CreationTime::Omit});
  doc["model"] = "per-GPU tok/s = min(C, alpha N) / (tau N): segment AB (C <= alpha N) linear, BC flat";
  doc["tolerance"] = o.tolerance;
  doc["configs"] = only;
  doc["sweep_context"] = o.sweep.context > 0 ? nlohmann::json(o.sweep.context) : nlohmann::json(nullptr);
  doc["sources"] = nlohmann::json::array();
  char line[320];
  bool any_emulated = false, any_bound = false;
  for (const Source& s : sources) {
    out << "toy model fitted to " << s.set.origin << " (" << observation_kind_name(s.set.kind)
        << (s.set.selection.empty() ? "" : ": " + s.set.selection) << "): tau = seconds per token per user on AB, "
        << "alpha = running requests per GPU at the knee\n";
    std::snprintf(line, sizeof line, "%-16s %4s %6s %8s %9s %8s %10s %8s  %s\n", "config", "GPUs", "points", "tau ms",
                  "alpha/GPU", "knee C", "plateau", "rms log", "fails (model vs curve)");
    out << line;
    nlohmann::json src;
    src["file"] = s.file;
    src["kind"] = observation_kind_name(s.set.kind);
    if (!s.set.selection.empty()) src["selection"] = s.set.selection;
    src["curves"] = nlohmann::json::array();
    for (const Curve& c : s.curves) {
      src["curves"].push_back(curve_json(c, o.tolerance));
      if (!c.fit) {
        std::snprintf(line, sizeof line, "%-16s %4d %6zu  too few points with throughput to fit\n", c.config.c_str(),
                      c.num_gpus, c.points.size());
        out << line;
        continue;
      }
      const ToyFit& f = *c.fit;
      any_emulated = any_emulated || c.emulated;
      any_bound = any_bound || f.knee != ToyKnee::Within;
      const Cells v = cells_of(f, c.num_gpus);
      std::snprintf(line, sizeof line, "%-16s %4d %6zu %8s %9s %8s %10s %8.3f  %s\n",
                    (c.config + (c.emulated ? "*" : "")).c_str(), c.num_gpus, c.points.size(), v.tau.c_str(),
                    v.alpha.c_str(), v.knee.c_str(), v.plateau.c_str(), f.rms_log_error, f.failures(o.tolerance).c_str());
      out << line;
      if (o.per_point)
        for (const ToyResidual& r : f.residuals) {
          std::snprintf(line, sizeof line, "    C=%-6g %s  curve %9.2f  toy %9.2f  %+6.1f%%\n", r.concurrency,
                        r.on_ab ? "AB" : "BC", r.measured, r.model, 100 * r.rel_error);
          out << line;
        }
    }
    doc["sources"].push_back(src);
  }
  if (any_emulated) out << "* measured on one GPU with --emulate-tp: TP>1 collective times came from a system profile\n";
  if (any_bound)
    out << ">= / <=: the curve does not reach its knee (or starts past it), so only a bound is known; '-': not "
           "determined by the curve\n";
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
