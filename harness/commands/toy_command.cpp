#include "harness/commands/toy_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "harness/common/error.hpp"
#include "harness/common/split_list.hpp"
#include "harness/observations/observations.hpp"
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

// The table's tau, alpha, knee and plateau cells: a bound (the value, shown as ">=x" or "<=x")
// or no value where the curve does not determine the quantity (ToyKnee).
struct Cells {
  Cell tau, alpha, knee, plateau;
};
Cells cells_of(const ToyFit& f, int n) {
  const double tau = f.model.tau, alpha = f.model.alpha;
  switch (f.knee) {
    case ToyKnee::AboveData:
      return {tau * 1e3, Cell(alpha).shown_as(num(">=%.3f", alpha)), Cell(alpha * n).shown_as(num(">=%.1f", alpha * n)),
              Cell(alpha / tau).shown_as(num(">=%.1f", alpha / tau))};
    case ToyKnee::BelowData:
      return {Cell::na(), Cell::na(), Cell(alpha * n).shown_as(num("<=%.1f", alpha * n)), alpha / tau};
    default:
      return {tau * 1e3, alpha, alpha * n, alpha / tau};
  }
}

// One row per curve; the source file and the knee's kind are for the machine formats (the text
// names the file above its rows and shows a bound as ">=" or "<=").
Table curves_table() {
  using NF = NumberFormat;
  Table t;
  t.name = "curves";
  t.title = "Toy model per curve: tau = seconds per token per user on AB, alpha = running requests per GPU at the knee";
  t.columns = {Column::words("source", "source").hidden_in_text(),
               Column::words("config", "config", 16),
               Column::numbers("gpus", "GPUs", NF::integer(), 4),
               Column::numbers("points", "points", NF::integer(), 6),
               Column::numbers("tau_ms", "tau ms", NF::fixed(2), 8).with_unit("ms").with_missing("-"),
               Column::numbers("alpha_per_gpu", "alpha/GPU", NF::fixed(3), 9).with_missing("-"),
               Column::numbers("knee_concurrency", "knee C", NF::fixed(1), 8).with_missing("-"),
               Column::numbers("plateau_tok_s_per_gpu", "plateau", NF::fixed(1), 10).with_unit("tok/s").with_missing("-"),
               Column::words("knee", "knee").hidden_in_text(),
               Column::numbers("rms_log_error", "rms log", NF::fixed(3), 8),
               Column::words("fails", "fails (model vs curve)", 0).with_gap("  ").with_missing("")};
  return t;
}

// With --points: every point of every fitted curve against the toy model.
Table points_table() {
  using NF = NumberFormat;
  Table t;
  t.name = "points";
  t.title = "Every point: curve against toy model";
  t.columns = {Column::words("source", "source").hidden_in_text(),
               Column::words("config", "config").hidden_in_text(),
               Column::numbers("concurrency", "C", NF::general(6), 8).with_gap("").with_missing(""),
               Column::words("segment", "segment", 2),
               Column::numbers("curve_tok_s_per_gpu", "curve", NF::fixed(2), 9).with_gap("  curve ").with_unit("tok/s"),
               Column::numbers("toy_tok_s_per_gpu", "toy", NF::fixed(2), 9).with_gap("  toy ").with_unit("tok/s"),
               Column::numbers("error_pct", "error", NF::signed_percent(1), 7).with_gap("  ").with_unit("%")};
  t.text_row_prefix = "    ";
  t.text_header = false;
  t.columns[2].align = Align::Left;
  return t;
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

// Every file read, every --configs name checked and every curve fitted before anything is
// printed: an error leaves no half table.
std::vector<Source> fitted_sources(const std::vector<std::string>& files, const std::vector<std::string>& only,
                                   const SweepSelection& sweep) {
  std::vector<Source> sources;
  for (const std::string& file : files) sources.push_back({file, read_observations(file, sweep), {}});
  {
    std::vector<const ObservationSet*> sets;
    for (const auto& s : sources) sets.push_back(&s.set);
    check_selection_used(sweep, sets);
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
  return sources;
}

// The notes under the text table: the marks it used and what its columns mean.
void print_toy_notes(std::ostream& out, bool any_emulated, bool any_bound, double tolerance) {
  char line[320];
  if (any_emulated) out << "* measured on one GPU with --emulate-tp: TP>1 collective times came from a system profile\n";
  if (any_bound)
    out << ">= / <=: the curve does not reach its knee (or starts past it), so only a bound is known; '-': not "
           "determined by the curve\n";
  std::snprintf(line, sizeof line,
                "plateau = alpha / tau tok/s/GPU (segment BC); fails: points where the toy model is off by more than "
                "%.0f %%, with the segment they fall on\n",
                100 * tolerance);
  out << line;
}

}  // namespace

int run_toy(const ToyOptions& o, std::ostream& out) {
  if (!o.json.empty()) check_writable(o.json, split_comma_list(o.curves));
  if (!(o.tolerance > 0) || o.tolerance > 10) throw UsageError("--tolerance must be in (0, 10] (a fraction)");
  const std::vector<std::string> files = split_comma_list(o.curves);
  if (files.empty()) throw UsageError("--curves needs at least one points file");
  std::vector<std::string> only;
  for (const auto& c : split_comma_list(o.configs)) only.push_back(parse_layout(c).name());

  const std::vector<Source> sources = fitted_sources(files, only, o.sweep);

  nlohmann::json doc;
  doc["schema"] = "tpbench.toy/1";
  add_provenance(doc, {o.command_line, CreationTime::Omit});
  doc["model"] = "per-GPU tok/s = min(C, alpha N) / (tau N): segment AB (C <= alpha N) linear, BC flat";
  doc["tolerance"] = o.tolerance;
  doc["configs"] = only;
  doc["sweep_context"] = o.sweep.context > 0 ? nlohmann::json(o.sweep.context) : nlohmann::json(nullptr);
  doc["sources"] = nlohmann::json::array();
  const bool text = o.format == TableFormat::Text;
  Table curves = curves_table(), points = points_table();
  bool any_emulated = false, any_bound = false;
  // The text form prints each curve's row, then its points, as they are added.
  for (const Source& s : sources) {
    if (text)
      out << "toy model fitted to " << s.set.origin << " (" << observation_kind_name(s.set.kind)
          << (s.set.selection.empty() ? "" : ": " + s.set.selection) << "): tau = seconds per token per user on AB, "
          << "alpha = running requests per GPU at the knee\n"
          << text_header_lines(curves);
    nlohmann::json src;
    src["file"] = s.file;
    src["kind"] = observation_kind_name(s.set.kind);
    if (!s.set.selection.empty()) src["selection"] = s.set.selection;
    src["curves"] = nlohmann::json::array();
    for (const Curve& c : s.curves) {
      src["curves"].push_back(curve_json(c, o.tolerance));
      const Cell config = c.emulated ? Cell(c.config).shown_as(c.config + "*") : Cell(c.config);
      if (!c.fit) {
        Row& r = curves.add_row({s.file, config, c.num_gpus, c.points.size(), Cell::na(), Cell::na(), Cell::na(),
                                 Cell::na(), "not_fitted", Cell::na(), Cell::na()});
        r.text_columns = 4;
        r.text_after = "  too few points with throughput to fit";
        if (text) out << text_row_line(curves, r);
        continue;
      }
      const ToyFit& f = *c.fit;
      any_emulated = any_emulated || c.emulated;
      any_bound = any_bound || f.knee != ToyKnee::Within;
      const Cells v = cells_of(f, c.num_gpus);
      const Row& r = curves.add_row({s.file, config, c.num_gpus, c.points.size(), v.tau, v.alpha, v.knee, v.plateau,
                                     knee_name(f.knee), f.rms_log_error, f.failures(o.tolerance)});
      if (text) out << text_row_line(curves, r);
      if (!o.per_point) continue;
      for (const ToyResidual& q : f.residuals) {
        const Row& p = points.add_row({s.file, c.config, Cell(q.concurrency).shown_as("C=" + num("%g", q.concurrency)),
                                       q.on_ab ? "AB" : "BC", q.measured, q.model, 100 * q.rel_error});
        if (text) out << text_row_line(points, p);
      }
    }
    doc["sources"].push_back(src);
  }
  if (!text) {
    print_tables(out, o.format, o.per_point ? std::vector<const Table*>{&curves, &points} : std::vector<const Table*>{&curves});
    if (!o.json.empty()) write_file_atomic(o.json, doc.dump(2) + "\n");
    return 0;
  }
  print_toy_notes(out, any_emulated, any_bound, o.tolerance);
  if (!o.json.empty()) {
    write_file_atomic(o.json, doc.dump(2) + "\n");
    out << "wrote " << o.json << "\n";
  }
  return 0;
}

}  // namespace tpbench
