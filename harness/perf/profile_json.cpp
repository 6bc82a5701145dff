// Reading and writing the profile JSON format documented in system_profile.hpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/common/error.hpp"
#include "harness/common/text.hpp"
#include "harness/io/json_file.hpp"
#include "harness/perf/system_profile.hpp"

namespace tpbench {
namespace {

double number_field(const nlohmann::json& j, const char* key, const std::string& origin, bool required,
                    double fallback) {
  if (!j.contains(key)) {
    if (required) throw UsageError("profile " + origin + ": missing field '" + key + "'");
    return fallback;
  }
  const auto& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0)
    throw UsageError("profile " + origin + ": field '" + key + "' must be a non-negative number");
  return v.get<double>();
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& origin, const std::string& fallback) {
  if (!j.contains(key)) return fallback;
  if (!j.at(key).is_string()) throw UsageError("profile " + origin + ": field '" + key + "' must be a string");
  return j.at(key).get<std::string>();
}

// A number field that must lie in (lo, hi] (strictly positive) or [lo, hi] (may be zero).
double ranged_field(const nlohmann::json& j, const char* key, const std::string& origin, double fallback, double lo,
                    double hi, bool zero_ok) {
  const double v = number_field(j, key, origin, false, fallback);
  if ((zero_ok ? v < lo : !(v > lo)) || v > hi) {
    char range[64];
    std::snprintf(range, sizeof range, "%s%g, %g]", zero_ok ? "[" : "(", lo, hi);
    throw UsageError("profile " + origin + ": field '" + key + "' must be in " + range);
  }
  return v;
}

std::vector<std::pair<double, double>> pairs_field(const nlohmann::json& v, const std::string& what) {
  if (!v.is_array()) throw UsageError(what + " must be an array of [x, y] pairs");
  std::vector<std::pair<double, double>> out;
  for (const auto& p : v) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
      throw UsageError(what + " must be an array of [x, y] number pairs");
    out.emplace_back(p[0].get<double>(), p[1].get<double>());
  }
  return out;
}

// A (m, fraction) table: m > 0, 0 < fraction <= 1.5, sorted by m.
std::vector<std::pair<double, double>> efficiency_table(const nlohmann::json& v, const std::string& origin,
                                                        const std::string& key) {
  auto t = pairs_field(v, "profile " + origin + ": " + key);
  for (const auto& [m, f] : t)
    if (!(m > 0) || !(f >= 1e-6) || f > 1.5)
      throw UsageError("profile " + origin + ": " + key + " needs m > 0 and 1e-6 <= fraction <= 1.5");
  std::sort(t.begin(), t.end());
  return t;
}

// A JSON object key that is a positive integer written plainly ("8"; not "08", "+8", " 8",
// which would alias it), else 0.
int positive_int_key(const std::string& k) {
  try {
    const int v = std::stoi(k);
    return v > 0 && std::to_string(v) == k ? v : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

// Measured GEMM times: each entry a distinct (n, k) with points m >= 1 (distinct, sorted) and
// 0 < seconds <= 100.
std::vector<SystemProfile::GemmTimes> gemm_time_tables(const nlohmann::json& v, const std::string& origin) {
  const std::string what = "profile " + origin + ": gemm_times";
  if (!v.is_array()) throw UsageError(what + " must be an array of {n, k, points}");
  std::vector<SystemProfile::GemmTimes> out;
  for (const auto& e : v) {
    if (!e.is_object() || !e.contains("n") || !e.contains("k") || !e.contains("points") ||
        !e["n"].is_number_integer() || !e["k"].is_number_integer())
      throw UsageError(what + ": each entry needs integer n, k and points");
    SystemProfile::GemmTimes t;
    t.n = e["n"].get<int64_t>();
    t.k = e["k"].get<int64_t>();
    if (t.n < 1 || t.k < 1 || t.n > (int64_t(1) << 32) || t.k > (int64_t(1) << 32))
      throw UsageError(what + ": n and k must be in 1..2^32");
    for (const auto& o : out)
      if (o.n == t.n && o.k == t.k)
        throw UsageError(what + ": n=" + std::to_string(t.n) + " k=" + std::to_string(t.k) + " appears twice");
    t.points = pairs_field(e["points"], what);
    std::sort(t.points.begin(), t.points.end());
    if (t.points.size() < 2) throw UsageError(what + ": an entry needs at least two points (a time by m is a line)");
    for (size_t i = 0; i < t.points.size(); ++i) {
      const auto& [m, sec] = t.points[i];
      if (!(m >= 1 && m <= 1e9 && sec > 0 && sec <= 100) || (i > 0 && m == t.points[i - 1].first))
        throw UsageError(what + ": points need distinct 1 <= m <= 1e9 and 0 < seconds <= 100");
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

namespace {

// A file with "base": the built-in's document with the file's fields laid over it (objects such
// as collectives and sources merge per key, so a file may replace one group's curve). The name
// is the file's, or its origin.
nlohmann::json with_base(const nlohmann::json& j, const std::string& origin) {
  if (!j["base"].is_string()) throw UsageError("profile " + origin + ": field 'base' must be a built-in profile name");
  const std::string base = j["base"].get<std::string>();
  const auto names = builtin_profile_names();
  if (std::find(names.begin(), names.end(), base) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw UsageError("profile " + origin + ": base '" + base + "' is not a built-in profile (" + known + ")");
  }
  nlohmann::json merged = profile_to_json(builtin_profile(base));
  merged["name"] = origin;
  nlohmann::json overlay = j;
  overlay.erase("base");
  // A field the file sets is no longer the built-in's: its source is the file (or the file's
  // own "sources" entry, laid over next).
  for (const auto& [k, v] : overlay.items())
    if (k != "schema" && k != "name" && k != "gpu" && k != "sources")
      merged["sources"][k] = "profile " + origin + " (over base '" + base + "')";
  merged.merge_patch(overlay);
  return merged;
}

// Optional FP8 rates: absent means no FP8 tensor cores.
void read_fp8_rates(const nlohmann::json& j, const std::string& origin, SystemProfile& p) {
  if (!j.contains("fp8_matmul_flops")) {
    if (j.contains("peak_fp8_matmul_flops"))
      throw UsageError("profile " + origin + ": peak_fp8_matmul_flops without fp8_matmul_flops");
    return;
  }
  p.fp8_matmul_flops = ranged_field(j, "fp8_matmul_flops", origin, 0, 1e6, 1e18, false);
  p.peak_fp8_matmul_flops = ranged_field(j, "peak_fp8_matmul_flops", origin, p.fp8_matmul_flops, 1e6, 1e18, false);
}

}  // namespace

SystemProfile profile_from_json(const nlohmann::json& j_in, const std::string& origin) {
  if (!j_in.is_object()) throw UsageError("profile " + origin + ": not a JSON object");
  const nlohmann::json j = j_in.contains("base") ? with_base(j_in, origin) : j_in;
  if (j.contains("schema") && (!j["schema"].is_string() ||
                               j["schema"].get<std::string>().rfind("tpbench.profile/", 0) != 0))
    throw UsageError("profile " + origin + ": schema is not tpbench.profile/N");
  SystemProfile p;
  p.name = string_field(j, "name", origin, origin);
  p.gpu = string_field(j, "gpu", origin, "");
  // Both are printed in tables and reports, where a terminal would execute control characters.
  if (has_control_characters(p.name) || has_control_characters(p.gpu))
    throw UsageError("profile " + escaped(origin) + ": name or gpu contains control characters");
  p.memory_bytes = number_field(j, "memory_bytes", origin, true, 0);
  p.hbm_bandwidth = number_field(j, "hbm_bandwidth", origin, true, 0);
  p.matmul_flops = number_field(j, "matmul_flops", origin, true, 0);
  // Lower bounds far below any GPU, so that no time or token count underflows or overflows.
  if (p.memory_bytes < 1e6 || p.hbm_bandwidth < 1e6 || p.matmul_flops < 1e6)
    throw UsageError("profile " + origin + ": memory_bytes, hbm_bandwidth and matmul_flops must be at least 1e6");
  // Bounds far above any GPU, so that KV token counts and step times stay finite integers.
  if (p.memory_bytes > 1e15 || p.hbm_bandwidth > 1e15 || p.matmul_flops > 1e18)
    throw UsageError("profile " + origin + ": memory_bytes (<= 1e15), hbm_bandwidth (<= 1e15 B/s) or matmul_flops "
                     "(<= 1e18 FLOP/s) is beyond any GPU");
  p.peak_hbm_bandwidth = ranged_field(j, "peak_hbm_bandwidth", origin, p.hbm_bandwidth, 1e6, 1e15, false);
  p.peak_matmul_flops = ranged_field(j, "peak_matmul_flops", origin, p.matmul_flops, 1e6, 1e18, false);
  read_fp8_rates(j, origin, p);
  p.attention_efficiency = ranged_field(j, "attention_efficiency", origin, 0.5, 1e-3, 1.5, false);
  p.per_step_overhead_s = ranged_field(j, "per_step_overhead_s", origin, 0, 0, 10, true);
  p.per_layer_overhead_s = ranged_field(j, "per_layer_overhead_s", origin, 0, 0, 1, true);
  p.kernel_overhead_s = ranged_field(j, "kernel_overhead_s", origin, 0, 0, 0.01, true);
  p.runtime_reserve_bytes = ranged_field(j, "runtime_reserve_bytes", origin, 0, 0, 1e15, true);
  p.kv_link_bandwidth = ranged_field(j, "kv_link_bandwidth", origin, 5e10, 1e3, 1e15, false);
  p.kv_link_latency_s = ranged_field(j, "kv_link_latency_s", origin, 1e-4, 0, 10, true);
  if (j.contains("gemm_efficiency")) p.gemm_efficiency = efficiency_table(j["gemm_efficiency"], origin, "gemm_efficiency");
  if (j.contains("gemm_efficiency_by_tp")) {
    if (!j["gemm_efficiency_by_tp"].is_object())
      throw UsageError("profile " + origin + ": gemm_efficiency_by_tp must map a TP to a table");
    for (const auto& [t, table] : j["gemm_efficiency_by_tp"].items()) {
      const int tp = positive_int_key(t);
      if (tp < 1) throw UsageError("profile " + origin + ": gemm_efficiency_by_tp key '" + t + "' is not an integer >= 1");
      p.gemm_efficiency_by_tp[tp] = efficiency_table(table, origin, "gemm_efficiency_by_tp." + t);
      if (p.gemm_efficiency_by_tp[tp].empty())  // an empty table would mean "no loss" for that TP
        throw UsageError("profile " + origin + ": gemm_efficiency_by_tp." + t + " needs at least one point");
    }
  }
  if (j.contains("gemm_times")) p.gemm_times = gemm_time_tables(j["gemm_times"], origin);
  p.decode_attention_efficiency = number_field(j, "decode_attention_efficiency", origin, false, 1.0);
  if (!(p.decode_attention_efficiency >= 1e-3) || p.decode_attention_efficiency > 1.5)
    throw UsageError("profile " + origin + ": decode_attention_efficiency must be in [0.001, 1.5]");
  if (!j.contains("collectives") || !j["collectives"].is_object())
    throw UsageError("profile " + origin + ": missing object 'collectives'");
  for (const auto& [op_name, groups] : j["collectives"].items()) {
    const CollectiveKind op = parse_collective_kind(op_name);
    if (!groups.is_object())
      throw UsageError("profile " + origin + ": collectives." + op_name + " must map group size to points");
    for (const auto& [g, pts] : groups.items()) {
      const int group = positive_int_key(g);
      if (group < 2) throw UsageError("profile " + origin + ": collectives." + op_name + " group '" + g + "' is not an integer >= 2");
      const std::string where = "profile " + origin + ": collectives." + op_name + "." + g;
      const auto curve = pairs_field(pts, where);
      // Sizes up to a petabyte, times up to 100 s: beyond that a step time is no longer a number.
      for (const auto& [bytes, seconds] : curve)
        if (!(bytes >= 0 && bytes <= 1e15 && seconds >= 0 && seconds <= 100))
          throw UsageError(where + ": each point needs 0 <= bytes <= 1e15 and 0 <= seconds <= 100");
      p.collectives.set_curve(op, group, curve);
    }
  }
  if (p.collectives.curves().count(CollectiveKind::AllReduce) == 0)
    throw UsageError("profile " + origin + ": collectives has no all_reduce table");
  if (j.contains("sources") && j["sources"].is_object())
    for (const auto& [k, v] : j["sources"].items())
      if (v.is_string()) p.sources[k] = v.get<std::string>();
  return p;
}

SystemProfile load_profile_file(const std::string& path) {
  return profile_from_json(read_json_file(path, "profile"), "'" + path + "'");
}

SystemProfile resolve_profile(const std::string& name_or_file) {
  for (const auto& n : builtin_profile_names())
    if (n == name_or_file) return builtin_profile(n);
  std::error_code ec;
  if (std::filesystem::exists(name_or_file, ec)) return load_profile_file(name_or_file);
  std::string known;
  for (const auto& n : builtin_profile_names()) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("unknown profile '" + name_or_file + "' (built-in: " + known + "; or a profile JSON file)");
}

nlohmann::json profile_to_json(const SystemProfile& p) {
  nlohmann::json j;
  j["schema"] = "tpbench.profile/1";
  j["name"] = p.name;
  j["gpu"] = p.gpu;
  j["memory_bytes"] = p.memory_bytes;
  j["hbm_bandwidth"] = p.hbm_bandwidth;
  j["matmul_flops"] = p.matmul_flops;
  j["peak_hbm_bandwidth"] = p.peak_hbm_bandwidth;
  j["peak_matmul_flops"] = p.peak_matmul_flops;
  if (p.fp8_matmul_flops > 0) {
    j["fp8_matmul_flops"] = p.fp8_matmul_flops;
    j["peak_fp8_matmul_flops"] = p.peak_fp8_matmul_flops;
  }
  if (!p.gemm_efficiency.empty()) {
    j["gemm_efficiency"] = nlohmann::json::array();
    for (const auto& [m, f] : p.gemm_efficiency) j["gemm_efficiency"].push_back({m, f});
  }
  if (!p.gemm_efficiency_by_tp.empty()) {
    nlohmann::json by = nlohmann::json::object();
    for (const auto& [tp, table] : p.gemm_efficiency_by_tp) {
      nlohmann::json t = nlohmann::json::array();
      for (const auto& [m, f] : table) t.push_back({m, f});
      by[std::to_string(tp)] = t;
    }
    j["gemm_efficiency_by_tp"] = by;
  }
  j["decode_attention_efficiency"] = p.decode_attention_efficiency;
  j["attention_efficiency"] = p.attention_efficiency;
  j["per_step_overhead_s"] = p.per_step_overhead_s;
  j["per_layer_overhead_s"] = p.per_layer_overhead_s;
  j["kernel_overhead_s"] = p.kernel_overhead_s;
  if (!p.gemm_times.empty()) {
    nlohmann::json g = nlohmann::json::array();
    for (const auto& t : p.gemm_times) {
      nlohmann::json pts = nlohmann::json::array();
      for (const auto& [m, sec] : t.points) pts.push_back({m, sec});
      g.push_back({{"n", t.n}, {"k", t.k}, {"points", pts}});
    }
    j["gemm_times"] = g;
  }
  j["runtime_reserve_bytes"] = p.runtime_reserve_bytes;
  j["kv_link_bandwidth"] = p.kv_link_bandwidth;
  j["kv_link_latency_s"] = p.kv_link_latency_s;
  nlohmann::json coll = nlohmann::json::object();
  for (const auto& [op, groups] : p.collectives.curves())
    for (const auto& [g, curve] : groups) {
      nlohmann::json pts = nlohmann::json::array();
      for (const auto& [b, t] : curve) pts.push_back({b, t});
      coll[collective_name(op)][std::to_string(g)] = pts;
    }
  j["collectives"] = coll;
  j["sources"] = p.sources;
  return j;
}

}  // namespace tpbench
