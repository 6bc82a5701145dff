#include "harness/perf/perf_params.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "harness/common/error.hpp"

namespace tpbench {
namespace {
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

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
}  // namespace

int step_overhead_tp_of(const std::string& name) { return tp_in_name(name, "step_overhead_tp", "_s"); }
int step_time_scale_tp_of(const std::string& name) { return tp_in_name(name, "step_time_scale_tp", ""); }
int per_tp_param_of(const std::string& name) {
  const int tp = step_overhead_tp_of(name);
  return tp > 0 ? tp : step_time_scale_tp_of(name);
}

std::vector<std::string> fittable_param_names() {
  return {"hbm_efficiency", "compute_efficiency", "step_overhead_s", "collective_scale", "collective_hop_latency_s", "memory_reserve_gib"};
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
  if (name == "hbm_efficiency") return p.hbm_efficiency;
  if (name == "compute_efficiency") return p.compute_efficiency;
  if (name == "step_overhead_s") return p.step_overhead_s;
  if (name == "collective_scale") return p.collective_scale;
  if (name == "collective_hop_latency_s") return p.collective_hop_latency_s;
  if (name == "memory_reserve_gib") return p.memory_reserve_bytes < 0 ? -1 : p.memory_reserve_bytes / kGiB;
  if (name == "kv_on_demand") return p.kv_on_demand ? 1.0 : 0.0;
  if (name == "gpu_memory_utilization") return p.gpu_memory_utilization;
  if (name == "max_num_batched_tokens") return double(p.max_num_batched_tokens);
  if (name == "max_num_seqs") return double(p.max_num_seqs);
  if (const int tp = step_overhead_tp_of(name); tp > 0) {
    auto it = p.step_overhead_by_tp_s.find(tp);
    return it == p.step_overhead_by_tp_s.end() ? 0.0 : it->second;
  }
  if (const int tp = step_time_scale_tp_of(name); tp > 0) return step_time_scale(p, tp);
  throw UsageError("unknown model parameter '" + name + "'");
}

double param_upper_bound(const std::string& name) {
  if (name == "hbm_efficiency" || name == "compute_efficiency") return 2.0;
  if (name == "collective_scale") return 100.0;
  if (name == "collective_hop_latency_s") return 0.01;
  if (name == "memory_reserve_gib") return 1e6;
  if (step_time_scale_tp_of(name) > 0) return 100.0;
  return 10.0;  // step_overhead_s, step_overhead_tp<n>_s
}

namespace {
// Scales must be positive, at least 0.001 (a zero efficiency divides by zero; 1e-300 gives
// times no table can print); additive costs may be zero.
void check_range(const std::string& name, double v, bool zero_ok) {
  const double hi = param_upper_bound(name);
  if ((zero_ok ? !(v >= 0) : !(v >= 1e-3)) || v > hi) {
    char range[64];
    std::snprintf(range, sizeof range, "[%g, %g]", zero_ok ? 0.0 : 1e-3, hi);
    throw UsageError(name + " must be in " + range);
  }
}
}  // namespace

void set_param(PerfParams& p, const std::string& name, double v) {
  if (name == "hbm_efficiency") check_range(name, v, false), p.hbm_efficiency = v;
  else if (name == "compute_efficiency") check_range(name, v, false), p.compute_efficiency = v;
  else if (name == "step_overhead_s") check_range(name, v, true), p.step_overhead_s = v;
  else if (name == "collective_scale") check_range(name, v, true), p.collective_scale = v;  // 0: free communication
  else if (name == "collective_hop_latency_s") check_range(name, v, true), p.collective_hop_latency_s = v;
  else if (name == "memory_reserve_gib") check_range(name, v, true), p.memory_reserve_bytes = v * kGiB;
  else if (name == "kv_on_demand") {
    if (v != 0.0 && v != 1.0) throw UsageError("kv_on_demand must be 0 or 1");
    p.kv_on_demand = v == 1.0;
  } else if (name == "gpu_memory_utilization") {
    if (!(v > 0) || v > 1) throw UsageError("gpu_memory_utilization must be in (0, 1]");
    p.gpu_memory_utilization = v;
  } else if (name == "max_num_batched_tokens" || name == "max_num_seqs") {
    // The serving engine's configuration (vLLM's flags of the same names), never fitted.
    const double most = name == "max_num_seqs" ? 1e5 : 1e7;
    if (!(v >= 1) || v > most || v != std::floor(v))
      throw UsageError(name + " must be a whole number from 1 to " + std::to_string(int64_t(most)));
    (name == "max_num_seqs" ? p.max_num_seqs : p.max_num_batched_tokens) = int64_t(v);
  } else if (const int tp = step_overhead_tp_of(name); tp > 0) {
    check_range(name, v, true);
    p.step_overhead_by_tp_s[tp] = v;
  } else if (const int tp = step_time_scale_tp_of(name); tp > 0) {
    check_range(name, v, false);
    p.step_time_scale_by_tp[tp] = v;
  } else throw UsageError("unknown model parameter '" + name + "'");
}

}  // namespace tpbench
