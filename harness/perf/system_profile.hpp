#pragma once
// SystemProfile: the machine ceilings the performance model uses. Built-in defaults
// (a100-sxm-80gb, h100-sxm, h200-sxm, b200, gb200-nvl72) come from datasheets and published measurements, each number with its
// source; `tpbench calibrate` writes the same fields as JSON from measurements.
//
// Profile JSON format (schema "tpbench.profile/1"; every number in SI units):
// {
//   "schema": "tpbench.profile/1",
//   "name": "my-node", "gpu": "NVIDIA H100 80GB HBM3",
//   "memory_bytes": 85520809984,            // per GPU, required
//   "hbm_bandwidth": 3.0e12,                // achievable bytes/s (measured copy/stream), required
//   "matmul_flops": 6.9e14,                 // achievable dense BF16 FLOP/s on large GEMMs, required
//   "peak_hbm_bandwidth": 3.35e12,          // optional datasheet figures (reporting only)
//   "peak_matmul_flops": 9.89e14,
//   "fp8_matmul_flops": 1.39e15,            // optional: achievable dense FP8 FLOP/s; absent = the
//   "peak_fp8_matmul_flops": 1.98e15,       // GPU has no FP8 tensor cores (FP8 GEMMs refused)
//   "base": "h100-sxm",                     // optional: a built-in profile this file starts from;
//                                           // the file's fields replace its fields (collectives
//                                           // and sources per key), the rest is the built-in's
//   "gemm_efficiency": [[tokens, fraction], ...],   // optional: fraction of matmul_flops reached
//                                           // at GEMM m = tokens (interpolated log-log)
//   "gemm_efficiency_by_tp": {"1": [[tokens, fraction], ...], "8": [...]},   // optional: the same
//                                           // for one TP's per-rank GEMM shapes (calibrate writes
//                                           // it from Llama-3.1-70B's; keys plain integers >= 1,
//                                           // tables non-empty); a TP between two tables is
//                                           // interpolated log-log, one outside uses the nearest
//   "decode_attention_efficiency": 0.85,    // optional, in (0, 1.5]: the decode-attention kernel's
//                                           // KV read rate as a fraction of hbm_bandwidth (default 1)
//   "attention_efficiency": 0.5,            // optional: prefill attention, fraction of matmul_flops peak
//   "per_step_overhead_s": 5e-4, "per_layer_overhead_s": 1.5e-5,   // optional
//   "kernel_overhead_s": 2e-6,              // optional: fixed cost of every compute kernel (launch
//                                           // gap, ramp-up and tail), added to its roofline time
//   "gemm_times": [{"n": 1280, "k": 8192, "points": [[m, seconds], ...]}, ...],   // optional:
//                                           // measured per-rank GEMM times (calibrate); a GEMM of
//                                           // that (n, k) is priced from its table, not the roofline
//   "runtime_reserve_bytes": 2.7e9,         // optional: CUDA context, NCCL, graphs, workspace
//   "kv_link_bandwidth": 5e10, "kv_link_latency_s": 1e-4,          // optional: PD KV transfer, per rank
//   "collectives": {"all_reduce": {"2": [[bytes, seconds], ...], "4": [...], "8": [...]},
//                   "all_gather": {...}, "reduce_scatter": {...},   // required: all_reduce
//                   "all_to_all": {...}},  // optional; without it all_to_all ops are refused
//   "sources": {"field": "where the number comes from", ...}        // optional
// }
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/perf/collective_table.hpp"

namespace tpbench {

struct SystemProfile {
  std::string name;
  std::string gpu;
  double memory_bytes = 0;          // per GPU
  double hbm_bandwidth = 0;         // achievable bytes/s
  double matmul_flops = 0;          // achievable dense BF16 FLOP/s (large GEMMs)
  double peak_hbm_bandwidth = 0;    // datasheet, reporting only
  double peak_matmul_flops = 0;     // datasheet
  // Dense FP8 (E4M3) tensor-core rate, achievable and datasheet; 0 = the GPU has none (A100),
  // so an FP8 GEMM cannot be priced and is refused.
  double fp8_matmul_flops = 0;
  double peak_fp8_matmul_flops = 0;
  // GEMM efficiency: the FLOP rate reached at m rows as a fraction of matmul_flops. The defaults
  // are a compute-side estimate under max(weights / bandwidth, FLOPs / rate); a calibrated
  // table is the measured rate, so its compute term is the measured GEMM time and the part of
  // it beyond the weight stream is whatever the kernels lose to the HBM roofline at small m.
  std::vector<std::pair<double, double>> gemm_efficiency;  // (m tokens, fraction); empty = 1.0
  std::map<int, std::vector<std::pair<double, double>>> gemm_efficiency_by_tp;  // TP -> table
  double attention_efficiency = 0.5;   // prefill attention FLOP/s as fraction of peak_matmul_flops
  double decode_attention_efficiency = 1.0;  // decode attention's KV read rate / hbm_bandwidth
  double per_step_overhead_s = 0;      // scheduler + sampling + graph launch, per engine step
  double per_layer_overhead_s = 0;     // per layer: kernels a serving stack runs that no plan op stands for
  double kernel_overhead_s = 0;        // per compute kernel the plan launches (GEMM, attention, elementwise)
  // Measured GEMM times by per-rank shape: out[m, n] = a[m, k] * w[k, n].
  struct GemmTimes {
    int64_t n = 0, k = 0;
    std::vector<std::pair<double, double>> points;  // (m, seconds), m ascending
  };
  std::vector<GemmTimes> gemm_times;
  const GemmTimes* gemm_table(int64_t n, int64_t k) const;
  double runtime_reserve_bytes = 0;    // non-KV, non-weight, non-activation memory per GPU
  double kv_link_bandwidth = 0;        // bytes/s per rank for PD KV transfer
  double kv_link_latency_s = 0;
  CollectiveTable collectives;
  std::map<std::string, std::string> sources;  // field -> citation

  // Fraction of matmul_flops reached by a GEMM with m rows (tokens) on a rank of a TP=tp group.
  // With per-TP tables and tp > 0: that TP's table; between two measured TPs, log-log in TP;
  // outside them, the nearest table. Otherwise the pooled table; 1.0 without any. Interpolated
  // linearly in log m vs log fraction (exact for a memory-bound GEMM, whose rate grows as m),
  // clamped at the ends. The per-TP tables come from one model's shapes (calibrate: Llama-3.1-
  // 70B): another model's TP-k rank gets the 70B TP-k rate, an approximation.
  double gemm_fraction(double m_tokens, int tp = 0) const;
};

std::vector<std::string> builtin_profile_names();       // "a100-sxm-80gb", "h100-sxm", ...
SystemProfile builtin_profile(const std::string& name);  // throws UsageError for unknown
// A built-in name, or a path to a profile JSON file. Throws UsageError naming the problem.
SystemProfile resolve_profile(const std::string& name_or_file);
SystemProfile load_profile_file(const std::string& path);
SystemProfile profile_from_json(const nlohmann::json& j, const std::string& origin);
nlohmann::json profile_to_json(const SystemProfile& p);

}  // namespace tpbench
