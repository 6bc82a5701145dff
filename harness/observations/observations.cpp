#include "harness/observations/observations.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/common/enum_names.hpp"
#include "harness/common/error.hpp"
#include "harness/observations/csv.hpp"
#include "harness/io/input_file.hpp"
#include "harness/io/json_file.hpp"
#include "harness/sim/layout.hpp"

namespace tpbench {
namespace fs = std::filesystem;
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A CSV cell's configuration; a bad one is a usage error that names the file and line.
Layout layout_cell(const std::string& cell, const std::string& where) {
  try {
    return parse_layout(cell);
  } catch (const UsageError& e) {
    throw UsageError(where + ": " + e.what());
  }
}


double num_or_nan(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return kNaN;
  if (!j[key].is_number()) throw UsageError(std::string("field '") + key + "' is not a number");
  return j[key].get<double>();
}

// One value of a sweep axis (plan or overlap) for the comparison: the one asked for, else the
// one vLLM runs (`preferred`) when measured, else the only one measured; several and none of
// them preferred is refused rather than decided by file order.
std::string pick_axis(const std::set<std::string>& measured, const std::string& asked, const std::string& preferred,
                      const char* axis, const char* option, const std::string& path) {
  std::string list;
  for (const auto& v : measured) list += (list.empty() ? "" : ", ") + v;
  if (!asked.empty()) {
    if (!measured.count(asked))
      throw UsageError("'" + path + "' has no decode point with " + axis + " '" + asked + "' (measured: " + list + ")");
    return asked;
  }
  if (measured.count(preferred)) return preferred;
  if (measured.size() == 1) return *measured.begin();
  throw UsageError("'" + path + "' was measured with " + axis + "s " + list + "; pick one with " + option);
}

// A sweep's decode points as serving points: config 1R-TPn, concurrency = batch, TPOT = median
// step time, at one plan, one overlap and one context (SweepSelection).
// A whole number within [lo, hi] (a JSON 1e12 or 8.5 where a count belongs is an error, not a
// conversion).
int64_t whole_in(const nlohmann::json& v, const char* key, int64_t lo, int64_t hi, const std::string& path) {
  const std::optional<int64_t> n = json_whole_number(v, lo, hi);
  if (!n)
    throw UsageError("'" + path + "': '" + key + "' must be a whole number from " + std::to_string(lo) + " to " +
                     std::to_string(hi));
  return *n;
}
int int_in(const nlohmann::json& v, const char* key, int lo, int hi, const std::string& path) {
  return int(whole_in(v, key, lo, hi, path));
}

void read_sweep_points(const nlohmann::json& j, const std::string& path, const SweepSelection& sel, ObservationSet& s) {
  s.kind = ObservationKind::Sweep;
  s.per_user_def = PerUserMetric::InvTpot;
  struct Candidate {
    std::string plan, overlap;
    int64_t context;
    Observation o;
  };
  std::vector<Candidate> all;
  for (const auto& p : j["points"]) {
    if (!p.is_object()) throw UsageError("'" + path + "': a point is not a JSON object");
    // A point the sweep could not run (it did not fit, or failed) carries no time to use.
    if (p.contains("status") && p["status"].is_string() && p["status"] != "ok") continue;
    if (p.contains("phase") && p["phase"].is_string() && p["phase"] != "decode") continue;
    if (!p.contains("tp") || !p.contains("batch") || !p.contains("step_time_s")) continue;
    const int tp = int_in(p["tp"], "tp", 1, 4096, path), batch = int_in(p["batch"], "batch", 1, 10000000, path);
    const auto& st = p["step_time_s"];
    const double tpot = st.is_object() ? num_or_nan(st, "median") : (st.is_number() ? st.get<double>() : kNaN);
    if (!(tpot > 0) || tp < 1 || batch < 1) continue;
    const int64_t context = p.contains("context") ? whole_in(p["context"], "context", 0, 100000000, path) : 0;
    Candidate c{p.value("plan", std::string("tp")), p.value("overlap", std::string("none")), context, {}};
    c.o.config = "1R-TP" + std::to_string(tp);
    c.o.concurrency = batch;
    c.o.num_gpus = tp;
    c.o.tokens_per_s_per_gpu = batch / (tpot * tp);
    c.o.per_user_inv_tpot = 1.0 / tpot;
    c.o.per_user_out_div_conc = 1.0 / tpot;  // steady decode: output/C = 1/TPOT
    c.o.emulated = p.value("emulated", false);
    all.push_back(c);
  }
  if (all.empty()) throw UsageError("'" + path + "' has no usable decode points");
  if (sel.context > 0) {  // the context first: plan and overlap are chosen among what it measured
    std::set<int64_t> measured;
    for (const auto& c : all) measured.insert(c.context);
    all.erase(std::remove_if(all.begin(), all.end(), [&](const Candidate& c) { return c.context != sel.context; }),
              all.end());
    if (all.empty()) {
      std::string list;
      for (int64_t c : measured) list += (list.empty() ? "" : ", ") + std::to_string(c);
      throw UsageError("'" + path + "' has no decode point at context " + std::to_string(sel.context) +
                       " (measured: " + list + ")");
    }
  }
  std::set<std::string> plans, overlaps;
  for (const auto& c : all) plans.insert(c.plan);
  const std::string plan = pick_axis(plans, sel.plan, "tp", "plan", "--sweep-plan", path);
  for (const auto& c : all)
    if (c.plan == plan) overlaps.insert(c.overlap);
  const std::string overlap = pick_axis(overlaps, sel.overlap, "none", "overlap", "--sweep-overlap", path);
  std::vector<int64_t> contexts;  // of s.points, index by index
  for (const auto& c : all) {
    if (c.plan != plan || c.overlap != overlap) continue;
    bool dup = false;
    for (size_t k = 0; k < s.points.size(); ++k) {
      const auto& q = s.points[k];
      if (q.config != c.o.config || q.concurrency != c.o.concurrency) continue;
      dup = true;
      if (contexts[k] != c.context)
        throw UsageError("'" + path + "': " + c.o.config.substr(3) + " batch " + std::to_string(c.o.concurrency) +
                         " was measured at contexts " + std::to_string(contexts[k]) + " and " +
                         std::to_string(c.context) + "; pick one with --sweep-context");
    }
    if (!dup) {  // the same point measured twice at one context (a repeated sweep): the first
      s.points.push_back(c.o);
      contexts.push_back(c.context);
    }
  }
  s.selection = "plan " + plan + ", overlap " + overlap;
  if (sel.context > 0) s.selection += ", context " + std::to_string(sel.context);
}

}  // namespace

const char* observation_kind_name(ObservationKind k) {
  switch (k) {
    case ObservationKind::ReferenceCsv: return "reference-csv";
    case ObservationKind::Prediction: return "prediction";
    case ObservationKind::Sweep: return "sweep";
  }
  return "?";
}

ObservationKind parse_observation_kind(const std::string& s) {
  return parse_enum_name(s, kAllObservationKinds, observation_kind_name, "points file kind");
}

double per_user(const Observation& o, PerUserMetric def) {
  switch (def) {
    case PerUserMetric::InvTpot: return o.per_user_inv_tpot;
    case PerUserMetric::OutDivConc: return o.per_user_out_div_conc;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

ObservationSet read_reference_csv(const std::string& path) { return reference_from_table(read_csv(path), path); }

ObservationSet reference_from_table(const CsvTable& t, const std::string& path) {
  ObservationSet s;
  s.origin = path;
  s.kind = ObservationKind::ReferenceCsv;
  const int c_config = t.column("config"), c_conc = t.column("concurrency");
  if (c_config < 0 || c_conc < 0) throw UsageError("CSV '" + path + "': needs columns 'config' and 'concurrency'");
  const int c_gpu = t.column("thpt_per_gpu"), c_out = t.column("output_tok_s"), c_n = t.column("num_gpus");
  if (c_gpu < 0 && (c_out < 0 || c_n < 0))
    throw UsageError("CSV '" + path + "': needs column 'thpt_per_gpu' or 'output_tok_s' with 'num_gpus'");
  const int c_odc = t.column("thpt_per_user_outdiv_conc"), c_inv = t.column("thpt_per_user_inv_tpot"),
            c_tpot = t.column("mean_tpot_ms");
  // llm-d's plotted per-user rate is output tok/s / concurrency: the column, or derived from the
  // output rate (given, or tok/s/GPU x num_gpus); 1/TPOT only where neither is there.
  const bool derive_odc = c_odc < 0 && (c_out >= 0 || (c_gpu >= 0 && c_n >= 0));
  s.per_user_def = c_odc >= 0 || derive_odc ? PerUserMetric::OutDivConc : PerUserMetric::InvTpot;
  std::map<std::pair<std::string, int>, int> line_of_point;  // duplicates would be counted twice
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto& r = t.rows[i];
    const std::string where = "CSV '" + path + "' line " + std::to_string(t.line_of_row[i]);
    Observation o;
    const Layout layout = layout_cell(r[size_t(c_config)], where);
    o.config = layout.name();
    const double conc = csv_number(r[size_t(c_conc)], where + " column concurrency", false);
    if (conc < 1 || conc != std::floor(conc) || conc > 1e7)
      throw UsageError(where + ": concurrency must be a whole number from 1 to 1e7");
    o.concurrency = int(conc);
    if (auto [it, fresh] = line_of_point.emplace(std::pair{o.config, o.concurrency}, t.line_of_row[i]); !fresh)
      throw UsageError(where + ": " + o.config + " at concurrency " + std::to_string(o.concurrency) +
                       " is given twice (also line " + std::to_string(it->second) + ")");
    if (c_n >= 0) {
      const double n = csv_number(r[size_t(c_n)], where + " column num_gpus", true);
      if (!std::isnan(n) && n != double(layout.num_gpus()))
        throw UsageError(where + ": num_gpus must be " + std::to_string(layout.num_gpus()) + " for " + o.config);
      if (!std::isnan(n)) o.num_gpus = int(n);
    }
    if (c_gpu >= 0) o.tokens_per_s_per_gpu = csv_number(r[size_t(c_gpu)], where + " column thpt_per_gpu", true);
    double out = c_out >= 0 ? csv_number(r[size_t(c_out)], where + " column output_tok_s", true) : kNaN;
    if (std::isnan(o.tokens_per_s_per_gpu) && o.num_gpus > 0) o.tokens_per_s_per_gpu = out / o.num_gpus;
    if (std::isnan(out) && o.num_gpus > 0) out = o.tokens_per_s_per_gpu * o.num_gpus;
    if (c_odc >= 0) o.per_user_out_div_conc = csv_number(r[size_t(c_odc)], where + " column thpt_per_user_outdiv_conc", true);
    else if (!std::isnan(out)) o.per_user_out_div_conc = out / o.concurrency;
    if (c_inv >= 0) o.per_user_inv_tpot = csv_number(r[size_t(c_inv)], where + " column thpt_per_user_inv_tpot", true);
    else if (c_tpot >= 0) {
      const double tpot = csv_number(r[size_t(c_tpot)], where + " column mean_tpot_ms", true);
      if (!std::isnan(tpot) && !(tpot > 0 && tpot <= 1e5)) throw UsageError(where + ": mean_tpot_ms must be in (0, 1e5]");
      o.per_user_inv_tpot = 1000.0 / tpot;
    }
    // Blank cells are "not measured" (NaN); a present throughput must be positive.
    for (const auto& [v, name] : {std::pair{o.tokens_per_s_per_gpu, "tok/s/GPU"},
                                  std::pair{o.per_user_out_div_conc, "tok/s/user (output / concurrency)"},
                                  std::pair{o.per_user_inv_tpot, "tok/s/user (1 / TPOT)"}})
      if (!std::isnan(v) && !(v > 0 && v <= 1e9)) throw UsageError(where + ": " + name + " must be in (0, 1e9]");
    if (std::isnan(o.tokens_per_s_per_gpu)) throw UsageError(where + ": no tok/s/GPU (blank throughput)");
    s.points.push_back(o);
  }
  if (s.points.empty()) throw UsageError("CSV '" + path + "' has no data rows");
  return s;
}

// The same bounds as the reference CSV's: a point that ran has a positive, finite throughput
// of at most 1e9 tok/s/GPU, per-user rates that are not negative, and no (configuration,
// concurrency) appears twice (which one would count?).
void check_points(const ObservationSet& s) {
  std::set<std::pair<std::string, int>> seen;
  for (const Observation& o : s.points) {
    const std::string where = "'" + s.origin + "': " + o.config + " at concurrency " + std::to_string(o.concurrency);
    if (o.concurrency < 1) throw UsageError(where + ": concurrency must be at least 1");
    if (!seen.insert({o.config, o.concurrency}).second) throw UsageError(where + " is given twice");
    if (!o.not_runnable.empty()) continue;
    if (!(o.tokens_per_s_per_gpu > 0) || o.tokens_per_s_per_gpu > 1e9)
      throw UsageError(where + ": tokens_per_s_per_gpu must be in (0, 1e9]");
    for (const double u : {o.per_user_out_div_conc, o.per_user_inv_tpot})
      if (u < 0 || u > 1e9 || std::isinf(u)) throw UsageError(where + ": a per-user rate is negative or above 1e9");
  }
}

ObservationSet read_points_json(const std::string& path, const SweepSelection& sel) {
  return points_from_json(read_json_file(path), path, sel);
}

ObservationSet points_from_json(const nlohmann::json& j, const std::string& path, const SweepSelection& sel) {
  if (!j.is_object() || !j.contains("points") || !j["points"].is_array())
    throw UsageError("'" + path + "' has no 'points' array (expected tpbench predict or sweep JSON)");
  if (j.contains("schema") && !j["schema"].is_string()) throw UsageError("'" + path + "': 'schema' is not a string");
  const std::string schema = j.value("schema", "");
  ObservationSet s;
  s.origin = path;
  if (j.contains("model") && j["model"].is_object() && j["model"].contains("name") && j["model"]["name"].is_string())
    s.model = j["model"]["name"].get<std::string>();
  try {
    if (schema.rfind("tpbench.result/", 0) == 0) {
      read_sweep_points(j, path, sel, s);
    } else if (schema.rfind("tpbench.prediction/", 0) == 0) {
      s.kind = ObservationKind::Prediction;
      s.per_user_def = PerUserMetric::OutDivConc;
      for (const auto& p : j["points"]) {
        if (!p.is_object()) throw UsageError("'" + path + "': a point is not a JSON object");
        Observation o;
        o.config = parse_layout(p.at("layout").get<std::string>()).name();
        o.concurrency = int_in(p.at("concurrency"), "concurrency", 1, 10000000, path);
        if (!p.value("feasible", true)) {  // kept, so that compare can say which points the model cannot run
          o.not_runnable = p.value("reason", std::string("not runnable"));
          s.points.push_back(o);
          continue;
        }
        o.num_gpus = p.contains("num_gpus") ? int(whole_in(p["num_gpus"], "num_gpus", 1, 1000000, path)) : 0;
        o.tokens_per_s_per_gpu = num_or_nan(p, "tokens_per_s_per_gpu");
        o.per_user_out_div_conc = num_or_nan(p, "per_user_out_div_conc");
        o.per_user_inv_tpot = num_or_nan(p, "per_user_inv_tpot");
        s.points.push_back(o);
      }
    } else {
      throw UsageError("'" + path + "': unknown schema '" + schema + "' (expected tpbench.prediction/1 or tpbench.result/1)");
    }
  } catch (const nlohmann::json::exception& e) {
    throw UsageError("'" + path + "': malformed point (" + std::string(e.what()) + ")");
  }
  if (s.points.empty()) throw UsageError("'" + path + "' has no usable points");
  check_points(s);
  return s;
}

void check_selection_used(const SweepSelection& sel, const std::vector<const ObservationSet*>& sets) {
  if (!sel.any()) return;
  for (const ObservationSet* s : sets)
    if (s->kind == ObservationKind::Sweep) return;
  throw UsageError("--sweep-context, --sweep-plan and --sweep-overlap choose among a sweep JSON's points; no input is a sweep");
}

ObservationSet read_observations(const std::string& path, const SweepSelection& sel) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".csv") return read_reference_csv(path);
  if (ext == ".json") return read_points_json(path, sel);
  // Anything else (a pipe, another extension): read once, and a document that starts with '{'
  // is JSON, anything else CSV.
  const std::string text = read_input_file(path);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') return points_from_json(parse_json_text(text, path), path, sel);
  return reference_from_table(parse_csv(text, path), path);
}

LatencyTable read_latency_csv(const std::string& path) {
  const CsvTable t = read_csv(path);
  const int cc = t.column("config"), ck = t.column("concurrency"), ct = t.column("mean_tpot_ms"),
            cf = t.column("mean_ttft_ms");
  if (cc < 0 || ck < 0 || ct < 0 || cf < 0)
    throw UsageError(path + ": a latency CSV needs columns config, concurrency, mean_tpot_ms and mean_ttft_ms");
  LatencyTable out;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto& r = t.rows[i];
    const std::string where = "CSV '" + path + "' line " + std::to_string(t.line_of_row[i]);
    const std::string config = layout_cell(r[size_t(cc)], where).name();
    const double c = csv_number(r[size_t(ck)], where + " column concurrency", false);
    if (c < 1 || c > 1e7 || c != std::floor(c)) throw UsageError(where + ": concurrency must be a whole number from 1 to 1e7");
    const bool has_tpot = !r[size_t(ct)].empty(), has_ttft = !r[size_t(cf)].empty();
    if (!has_tpot && !has_ttft) continue;  // not measured for this point
    const double tpot = has_tpot ? csv_number(r[size_t(ct)], where + " column mean_tpot_ms", false) : NAN;
    const double ttft = has_ttft ? csv_number(r[size_t(cf)], where + " column mean_ttft_ms", false) : NAN;
    // A token or a first token in no time is no measurement (and 1/TPOT would be infinite).
    if (tpot <= 0 || ttft <= 0) throw UsageError(where + ": mean_tpot_ms and mean_ttft_ms must be positive");
    // Milliseconds: a token slower than 100 s or a first token later than 10^9 ms (11.6 days)
    // is a unit or typing error, not a measurement.
    if (tpot > 1e5 || ttft > 1e9) throw UsageError(where + ": implausible latency (mean_tpot_ms at most 1e5, mean_ttft_ms at most 1e9)");
    if (!out.emplace(std::pair{config, int(c)}, std::pair{tpot * 1e-3, ttft * 1e-3}).second)
      throw UsageError(where + ": " + config + " at concurrency " + std::to_string(int(c)) + " is given twice");
  }
  return out;
}

}  // namespace tpbench
