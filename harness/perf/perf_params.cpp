#include "harness/perf/perf_params.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>

#include "harness/common/error.hpp"

namespace tpbench {
namespace {
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

using PerTp = std::map<int, double> PerfParams::*;

PerfParamDef real(const char* name, double PerfParams::*m, double min, double max, bool fittable, const char* help) {
  PerfParamDef d{name, m, min, max};
  d.fittable = fittable;
  d.help = help;
  return d;
}

// Scales must be positive, at least 0.001 (a zero efficiency divides by zero; 1e-300 gives
// times no table can print); additive costs may be zero. Upper bounds keep a typo from
// producing a prediction nobody could read as one (efficiencies 2, collective_scale 100, hop
// latency 0.01 s, memory reserve 1e6 GiB, step overheads 10 s, step-time scales 100).
std::vector<PerfParamDef> make_defs() {
  std::vector<PerfParamDef> d;
  d.push_back(real("hbm_efficiency", &PerfParams::hbm_efficiency, 1e-3, 2, true,
                   "scale on the profile's HBM bandwidth (weights and KV streaming)"));
  d.push_back(real("compute_efficiency", &PerfParams::compute_efficiency, 1e-3, 2, true,
                   "scale on matmul and attention FLOP/s"));
  d.push_back(real("step_overhead_s", &PerfParams::step_overhead_s, 0, 10, true,
                   "seconds added to every engine step (the serving stack's overhead)"));
  d.push_back(real("collective_scale", &PerfParams::collective_scale, 0, 100, true,
                   "scale on collective table times (0: free communication)"));
  d.push_back(real("collective_hop_latency_s", &PerfParams::collective_hop_latency_s, 0, 0.01, true,
                   "seconds per ring step of every collective, on top of the table"));
  PerfParamDef reserve = real("memory_reserve_gib", &PerfParams::memory_reserve_bytes, 0, 1e6, true,
                              "GiB per GPU kept from the KV cache (default: the profile's runtime reserve and the "
                              "activation peak)");
  reserve.unit = kGiB;
  reserve.negative_is_unset = true;
  reserve.json_key = "memory_reserve_bytes";
  d.push_back(reserve);
  PerfParamDef overhead_tp{"step_overhead_tp<n>_s", PerTp(&PerfParams::step_overhead_by_tp_s), 0, 10};
  overhead_tp.fittable = true;
  overhead_tp.help = "seconds added to every step of TP n instances only";
  d.push_back(overhead_tp);
  PerfParamDef scale_tp{"step_time_scale_tp<n>", PerTp(&PerfParams::step_time_scale_by_tp), 1e-3, 100};
  scale_tp.fittable = true;
  scale_tp.neutral = 1;
  scale_tp.help = "TP n steps stretched by this factor";
  d.push_back(scale_tp);
  PerfParamDef on_demand{"kv_on_demand", &PerfParams::kv_on_demand, 0, 1};
  on_demand.help = "1: vLLM's on-demand KV blocks with recompute preemption (default 0: ISL+OSL reserved at admission)";
  d.push_back(on_demand);
  PerfParamDef utilization = real("gpu_memory_utilization", &PerfParams::gpu_memory_utilization, 0, 1, false,
                                  "engine configuration, vLLM's --gpu-memory-utilization (default 0.95)");
  utilization.min_exclusive = true;
  d.push_back(utilization);
  d.push_back({"max_num_batched_tokens", &PerfParams::max_num_batched_tokens, 1, 1e7});
  d.back().help = "engine configuration, vLLM's token budget per step (default 8192)";
  d.push_back({"max_num_seqs", &PerfParams::max_num_seqs, 1, 1e5});
  d.back().help = "engine configuration, vLLM's most running sequences (default 256)";
  return d;
}

// n for a name pre + n + post with n a positive decimal of at most four digits, else 0.
int tp_in_name(const std::string& name, const std::string& pre, const std::string& post) {
  if (name.size() <= pre.size() + post.size() || name.compare(0, pre.size(), pre) != 0 ||
      name.compare(name.size() - post.size(), post.size(), post) != 0)
    return 0;
  const std::string digits = name.substr(pre.size(), name.size() - pre.size() - post.size());
  if (digits.empty() || digits.size() > 4 || digits[0] == '0' || digits.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  return std::stoi(digits);
}

bool is_per_tp(const PerfParamDef& d) { return std::holds_alternative<PerTp>(d.member); }

// A per-TP definition's TP in `name` (0: not an instance of it).
int tp_of(const PerfParamDef& d, const std::string& name) {
  const std::string pattern = d.name;
  const auto at = pattern.find("<n>");
  return tp_in_name(name, pattern.substr(0, at), pattern.substr(at + 3));
}

std::string name_at(const PerfParamDef& d, int tp) {
  std::string n = d.name;
  return n.replace(n.find("<n>"), 3, std::to_string(tp));
}

std::string range_text(const PerfParamDef& d) {
  char range[64];
  std::snprintf(range, sizeof range, "%s%g, %g]", d.min_exclusive ? "(" : "[", d.min, d.max);
  return range;
}

// Refuses a value outside the definition's bounds (NaN included), naming the parameter.
void check_bounds(const PerfParamDef& d, const std::string& name, double v) {
  const bool low = d.min_exclusive ? !(v > d.min) : !(v >= d.min);
  if (std::holds_alternative<bool PerfParams::*>(d.member)) {
    if (v != 0.0 && v != 1.0) throw UsageError(name + " must be 0 or 1");
  } else if (std::holds_alternative<int64_t PerfParams::*>(d.member)) {
    if (low || v > d.max || v != std::floor(v))
      throw UsageError(name + " must be a whole number from " + std::to_string(int64_t(d.min)) + " to " +
                       std::to_string(int64_t(d.max)));
  } else if (low || v > d.max) {
    throw UsageError(name + " must be in " + range_text(d));
  }
}

}  // namespace

const std::vector<PerfParamDef>& perf_param_defs() {
  static const std::vector<PerfParamDef> defs = make_defs();
  return defs;
}

const PerfParamDef& perf_param_def(const std::string& name, int* tp) {
  for (const PerfParamDef& d : perf_param_defs()) {
    const int n = is_per_tp(d) ? tp_of(d, name) : 0;
    if (n > 0 || (!is_per_tp(d) && name == d.name)) {
      if (tp) *tp = n;
      return d;
    }
  }
  throw UsageError("unknown model parameter '" + name + "'");
}

int step_overhead_tp_of(const std::string& name) { return tp_in_name(name, "step_overhead_tp", "_s"); }
int step_time_scale_tp_of(const std::string& name) { return tp_in_name(name, "step_time_scale_tp", ""); }
int per_tp_param_of(const std::string& name) {
  const int tp = step_overhead_tp_of(name);
  return tp > 0 ? tp : step_time_scale_tp_of(name);
}

std::vector<std::string> fittable_param_names() {
  std::vector<std::string> names;
  for (const PerfParamDef& d : perf_param_defs())
    if (d.fittable && !is_per_tp(d)) names.push_back(d.name);
  return names;
}

double stack_step_overhead_s(const PerfParams& p, int tp) {
  auto it = p.step_overhead_by_tp_s.find(tp);
  return p.step_overhead_s + (it == p.step_overhead_by_tp_s.end() ? 0.0 : it->second);
}

double step_time_scale(const PerfParams& p, int tp) {
  auto it = p.step_time_scale_by_tp.find(tp);
  return it == p.step_time_scale_by_tp.end() ? 1.0 : it->second;
}

double get_param(const PerfParams& p, const std::string& name) {
  int tp = 0;
  const PerfParamDef& d = perf_param_def(name, &tp);
  return std::visit(
      [&](auto member) -> double {
        using M = std::remove_reference_t<decltype(p.*member)>;
        if constexpr (std::is_same_v<M, const std::map<int, double>>) {
          const auto it = (p.*member).find(tp);
          return it == (p.*member).end() ? d.neutral : it->second;
        } else if constexpr (std::is_same_v<M, const bool>) {
          return p.*member ? 1.0 : 0.0;
        } else {
          const double v = double(p.*member);
          return d.negative_is_unset && v < 0 ? -1.0 : v / d.unit;
        }
      },
      d.member);
}

void set_param(PerfParams& p, const std::string& name, double v) {
  int tp = 0;
  const PerfParamDef& d = perf_param_def(name, &tp);
  check_bounds(d, name, v);
  std::visit(
      [&](auto member) {
        using M = std::remove_reference_t<decltype(p.*member)>;
        if constexpr (std::is_same_v<M, std::map<int, double>>) (p.*member)[tp] = v;
        else if constexpr (std::is_same_v<M, bool>) p.*member = v == 1.0;
        else if constexpr (std::is_same_v<M, int64_t>) p.*member = int64_t(v);
        else p.*member = v * d.unit;
      },
      d.member);
}

double param_upper_bound(const std::string& name) { return perf_param_def(name).max; }

nlohmann::json perf_params_to_json(const PerfParams& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const PerfParamDef& d : perf_param_defs()) {
    const std::string key = d.json_key ? d.json_key : d.name;
    std::visit(
        [&](auto member) {
          using M = std::remove_reference_t<decltype(p.*member)>;
          if constexpr (std::is_same_v<M, const std::map<int, double>>) {
            for (const auto& [tp, v] : p.*member) j[name_at(d, tp)] = v;
          } else if constexpr (std::is_same_v<M, const bool>) {
            j[key] = p.*member ? 1 : 0;
          } else {
            j[key] = p.*member;  // the member as held: doubles as numbers, whole numbers as integers
          }
        },
        d.member);
  }
  return j;
}

PerfParams perf_params_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw UsageError("model parameters: expected a JSON object");
  PerfParams p;
  for (const auto& [key, value] : j.items()) {
    const PerfParamDef* def = nullptr;
    for (const PerfParamDef& d : perf_param_defs())
      if (!is_per_tp(d) && d.json_key && key == d.json_key) def = &d;
    const std::string name = def ? std::string(def->name) : key;
    if (!def) def = &perf_param_def(name);  // throws naming an unknown key
    // A parameter kept in another unit is written under its JSON key only.
    if (def->json_key && key != def->json_key) throw UsageError("unknown model parameter '" + key + "' in JSON");
    if (!value.is_number()) throw UsageError("model parameter '" + key + "' is not a number");
    const double v = value.get<double>();
    if (def->negative_is_unset && v < 0) p.*std::get<double PerfParams::*>(def->member) = v;
    else set_param(p, name, v / def->unit);
  }
  return p;
}

std::string perf_params_help(bool fittable_only) {
  std::string s;
  for (const PerfParamDef& d : perf_param_defs()) {
    if (fittable_only && !d.fittable) continue;
    const bool flag = std::holds_alternative<bool PerfParams::*>(d.member);
    s += (s.empty() ? "" : "; ") + std::string(d.name) + (flag ? " (0 or 1)" : " " + range_text(d)) + ": " + d.help;
  }
  return s;
}

}  // namespace tpbench
