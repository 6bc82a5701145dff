#include "harness/commands/fit_command.hpp"

#include <iostream>

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>
#include <utility>

#include "harness/common/error.hpp"
#include "harness/common/split_list.hpp"
#include "harness/fit/fit.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/perf/inputs.hpp"
#include "harness/io/provenance.hpp"

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

// "n/a" where the points give no such value, as compare prints it.
std::string pct_or_na(double v) {
  if (!std::isfinite(v)) return "n/a";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f%%", v);
  return b;
}
nlohmann::json num_or_null(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

// The refits along a ridge: the pinned parameter, the training error, the held-out errors and
// the refitted values.
Table ridge_table(const FitResult& r) {
  using NF = NumberFormat;
  Table t;
  t.name = "ridge";
  t.title = "Refits along the ridge, each pinning one parameter and refitting the rest";
  t.columns = {Column::words("pinned", "pinned", 36),
               Column::numbers("pinned_value", "pinned value", NF::general(4)).hidden_in_text(),
               Column::numbers("train_rms_log_error", "train RMS", NF::fixed(4), 9),
               Column::words("verdict", "", 23).with_gap("  "),
               Column::numbers("heldout_aggregated_mape_pct", "held-out agg", NF::percent(1), 12).with_unit("%"),
               Column::numbers("heldout_pd_mape_pct", "PD", NF::percent(1), 8).with_unit("%"),
               Column::words("refitted", "refitted", 0).with_gap("  ")};
  t.text_header_prefix = t.text_row_prefix = "  ";
  for (const RidgePoint& q : r.ridge) {
    char pinned[96];
    std::snprintf(pinned, sizeof pinned, "%s=%.4g", q.pinned.c_str(), q.pinned_value);
    std::string refitted;
    for (const auto& [n, v] : q.values) {
      char b[96];
      std::snprintf(b, sizeof b, "%s%s=%.4g", refitted.empty() ? "" : " ", n.c_str(), v);
      refitted += b;
    }
    const char* verdict = !q.converged ? "NOT converged" : q.on_ridge ? "on the ridge" : "OFF: training rejects it";
    t.add_row({Cell(q.pinned).shown_as(pinned), q.pinned_value, std::sqrt(q.objective), verdict,
               q.heldout_aggregated_mape_gpu, q.heldout_pd_mape_gpu, refitted});
  }
  return t;
}

// The refits along a ridge and the held-out range over those on it; or why it was not followed.
std::string ridge_text(const FitResult& r) {
  std::ostringstream t;
  if (!r.ridge_not_explored.empty()) {
    if (r.identifiability.ridge) t << "ridge not followed: " << r.ridge_not_explored << "\n";
    return t.str();
  }
  if (r.ridge.empty()) return "";
  char line[320];
  std::snprintf(line, sizeof line,
                "along the ridge (%s <-> %s): %zu refits, each pinning one parameter and refitting the rest "
                "(optimum: training RMS log error %.4f)\n",
                r.ridge_pair[0].c_str(), r.ridge_pair[1].c_str(), r.ridge.size(), std::sqrt(r.objective));
  t << line;
  print_table(t, TableFormat::Text, ridge_table(r));
  double lo_a = NAN, hi_a = NAN, lo_p = NAN, hi_p = NAN;
  int on = 0;
  for (const RidgePoint& q : r.ridge) {
    if (!q.on_ridge) continue;
    ++on;
    lo_a = std::fmin(lo_a, q.heldout_aggregated_mape_gpu), hi_a = std::fmax(hi_a, q.heldout_aggregated_mape_gpu);
    lo_p = std::fmin(lo_p, q.heldout_pd_mape_gpu), hi_p = std::fmax(hi_p, q.heldout_pd_mape_gpu);
  }
  if (on > 0) {
    auto range = [](double lo, double hi) { return std::isnan(lo) ? std::string("-") : pct_or_na(lo) + " to " + pct_or_na(hi); };
    t << "held-out MAPE tok/s/GPU over the " << on << " refits on the ridge: aggregated " << range(lo_a, hi_a) << ", PD "
      << range(lo_p, hi_p) << " (the training points support each equally; sampled, not bounds)\n";
  }
  return t.str();
}

// The fitted values, one line each.
Table parameters_table(const FitResult& r) {
  Table t;
  t.name = "parameters";
  t.title = "Fitted parameters";
  t.columns = {Column::words("parameter", "parameter", 20),
               Column::numbers("value", "value", NumberFormat::general(6), 12)};
  t.text_header = false;
  t.text_row_prefix = "  ";
  for (const auto& [n, v] : r.values) t.add_row({n, v});
  return t;
}

nlohmann::json ridge_json(const FitResult& r) {
  nlohmann::json j;
  j["pair"] = r.ridge_pair[0].empty() ? nlohmann::json(nullptr) : nlohmann::json({r.ridge_pair[0], r.ridge_pair[1]});
  j["not_explored"] = r.ridge_not_explored.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.ridge_not_explored);
  j["points"] = nlohmann::json::array();
  for (const RidgePoint& q : r.ridge) {
    nlohmann::json p;
    p["position"] = q.position;
    p["pinned"] = q.pinned;
    p["pinned_value"] = q.pinned_value;
    p["parameters"] = nlohmann::json::object();
    for (const auto& [n, v] : q.values) p["parameters"][n] = v;
    p["objective"] = q.objective;
    p["evaluations"] = q.evaluations;
    p["converged"] = q.converged;
    p["on_ridge"] = q.on_ridge;
    p["heldout_aggregated_mape_tokens_per_s_per_gpu"] = num_or_null(q.heldout_aggregated_mape_gpu);
    p["heldout_pd_mape_tokens_per_s_per_gpu"] = num_or_null(q.heldout_pd_mape_gpu);
    j["points"].push_back(p);
  }
  return j;
}

// The report: what was fitted, the values, how well the training points determine them, the
// training and held-out errors and the ridge, if any.
void print_fit_text(const FitOptions& o, const ObservationSet& ref, const FitResult& r, std::ostream& out) {
  out << "fitted on " << o.train << " (" << r.train.points.size() << " points, " << r.evaluations
      << " simulator evaluations, " << (r.converged ? "converged" : "NOT converged: raise --max-evals")
      << "); per user = " << per_user_name(r.train.per_user_def) << "\n";
  if (!ref.selection.empty()) out << "reference " << ref.origin << " is a sweep, taken at " << ref.selection << "\n";
  print_table(out, TableFormat::Text, parameters_table(r));
  out << identifiability_text(r.identifiability);
  out << "training MAPE: tok/s/GPU " << pct_or_na(r.train.mape_gpu) << ", tok/s/user " << pct_or_na(r.train.mape_user)
      << "\n";
  if (!r.heldout.points.empty()) {
    out << "held-out configurations:\n" << comparison_table(r.heldout, o.per_point, /*flag_above_model=*/false);
    out << "held-out MAPE tok/s/GPU: aggregated " << pct_or_na(r.heldout_aggregated_mape_gpu) << ", PD "
        << pct_or_na(r.heldout_pd_mape_gpu) << "\n";
    if (r.heldout_aggregated_by_tp.size() > 1) {
      out << "  aggregated by TP:";
      const char* sep = " ";
      for (const auto& [tp, e] : r.heldout_aggregated_by_tp)
        out << std::exchange(sep, ", ") << "TP" << tp << " " << pct_or_na(e.first) << " (" << e.second << (e.second == 1 ? " configuration)" : " configurations)");
      out << "\n";
    }
  } else {
    out << "no held-out configuration (every reference configuration was trained on)\n";
  }
  out << ridge_text(r);
}

nlohmann::json fit_document(const FitOptions& o, const ObservationSet& ref, const SystemProfile& prof, const ModelSpec& m,
                            const FitSpec& spec, const FitResult& r) {
  nlohmann::json j;
  j["schema"] = "tpbench.fit/1";
  add_provenance(j, {o.command_line, CreationTime::Omit});
  j["reference"] = o.reference;
  if (!ref.selection.empty()) j["reference_selection"] = ref.selection;
  j["profile"] = prof.name;
  j["model"] = m.name;
  j["precision"] = {{"weight_dtype", dtype_name(m.weight_dtype)}, {"kv_dtype", dtype_name(m.kv_dtype)}};
  j["train"] = spec.train;
  j["scheme"] = {{"plan", plan_name(spec.scheme.plan)}, {"overlap", overlap_name(spec.scheme.overlap)},
                 {"split_chunks", spec.scheme.split_chunks}};
  j["parameters"] = nlohmann::json::object();
  for (const auto& [n, v] : r.values) j["parameters"][n] = v;
  j["objective"] = r.objective;
  j["evaluations"] = r.evaluations;
  j["converged"] = r.converged;
  j["identifiability"] = identifiability_json(r.identifiability);
  j["ridge"] = ridge_json(r);
  j["train_mape_tokens_per_s_per_gpu"] = r.train.mape_gpu;
  j["train_mape_tokens_per_s_per_user"] = r.train.mape_user;
  j["heldout_aggregated_mape_tokens_per_s_per_gpu"] = num_or_null(r.heldout_aggregated_mape_gpu);
  j["heldout_pd_mape_tokens_per_s_per_gpu"] = num_or_null(r.heldout_pd_mape_gpu);
  j["heldout_aggregated_by_tp"] = nlohmann::json::object();
  for (const auto& [tp, e] : r.heldout_aggregated_by_tp)
    j["heldout_aggregated_by_tp"][std::to_string(tp)] = {{"mape_tokens_per_s_per_gpu", num_or_null(e.first)},
                                                        {"configurations", e.second}};
  if (!r.heldout.points.empty()) j["heldout"] = comparison_to_json(r.heldout, /*flag_above_model=*/false);
  std::string set;
  for (const auto& [n, v] : r.values) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    set += " --set " + n + "=" + buf;
  }
  j["predict_arguments"] = set.empty() ? set : set.substr(1);
  return j;
}

}  // namespace

int run_fit(const FitOptions& o, std::ostream& out) {
  if (!o.json.empty()) check_writable(o.json, {o.reference, o.profile, o.model_config});
  const SystemProfile prof = resolve_profile(o.profile);
  const ModelSpec m = select_model(o.model, o.model_config, o.weight_dtype, o.kv_dtype);
  const SweepSelection& sel = o.sweep;
  const ObservationSet ref = read_observations(o.reference, sel);
  check_selection_used(sel, {&ref});
  if (!ref.model.empty() && ref.model != m.name)
    throw UsageError("'" + o.reference + "' is of model " + ref.model + " but the fit simulates " + m.name +
                     " (--model / --model-config)");
  FitSpec spec;
  spec.train = split_comma_list(o.train);
  if (spec.train.empty()) throw UsageError("--train needs at least one configuration");
  if (!o.params.empty()) spec.params = split_comma_list(o.params);
  spec.isl = o.isl;
  spec.osl = o.osl;
  spec.scheme = parse_scheme(o.plan, o.overlap, o.split_chunks);
  spec.max_evals = o.max_evals;
  spec.progress = [](const std::string& line) { std::cerr << line << std::endl; };  // stderr: stdout stays the report
  const FitResult r = fit_parameters(ref, m, prof, PerfParams{}, spec);

  if (o.format != TableFormat::Text) {
    std::vector<Table> tables{parameters_table(r)};
    if (!r.heldout.points.empty())
      for (Table& t : comparison_tables(r.heldout, o.per_point)) {
        t.name = "heldout_" + t.name;
        tables.push_back(std::move(t));
      }
    if (!r.ridge.empty()) tables.push_back(ridge_table(r));
    std::vector<const Table*> shown;
    for (const Table& t : tables) shown.push_back(&t);
    print_tables(out, o.format, shown);
  } else {
    print_fit_text(o, ref, r, out);
  }
  if (!o.json.empty()) write_file_atomic(o.json, fit_document(o, ref, prof, m, spec, r).dump(2) + "\n");
  if (!o.json.empty() && o.format == TableFormat::Text) out << "wrote " << o.json << "\n";
  return 0;
}

}  // namespace tpbench
