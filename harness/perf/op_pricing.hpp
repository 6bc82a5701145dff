#pragma once
// The price of one op on a system profile: the rule the cost model applies to every op of a
// plan, and what `tpbench profile op` prints for one.
//   GEMM        max(weight bytes / HBM rate, FLOPs / (matmul rate x efficiency(m))) + a fixed
//               cost per kernel, or the profile's measured time for that (n, k) when it has one
//   attention   decode: K/V bytes / (HBM rate x decode-attention efficiency);
//               prefill: FLOPs / (peak matmul rate x attention efficiency); + the kernel cost
//   elementwise bytes / HBM rate + the kernel cost
//   collective  the profile's size-aware table for (kind, group, nccl-tests bytes), scaled,
//               plus any per-ring-step latency the parameters add
#include "harness/perf/perf_params.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/plan/op_cost.hpp"

namespace tpbench {

enum class OpBound { Empty, Memory, Compute, Latency, Link, Measured };
const char* op_bound_name(OpBound b);  // "none", "memory", "compute", "latency", "link", "measured"

struct OpPrice {
  double seconds = 0;
  double memory_s = 0;   // bytes over the HBM rate (GEMM: the weight stream; attention: decode K/V)
  double compute_s = 0;  // FLOPs over the matmul rate at this shape's efficiency (attention: prefill)
  double fixed_s = 0;    // the profile's cost per compute kernel
  OpBound bound = OpBound::Empty;
};

struct PricingContext {
  const SystemProfile* profile = nullptr;
  const PerfParams* params = nullptr;
  int tp = 1;                  // the group: selects the per-TP GEMM efficiency table
  double element_bytes = 2;    // the model's dtype
};

// `op` sized for the step (op_at); `attn` is its attention work (attention ops only).
OpPrice price_op(const Op& op, const AttentionWork& attn, const PricingContext& ctx);

// Throws UsageError when the profile cannot price the model's precision: FP8 weights need an
// FP8 matmul rate (a GPU without FP8 tensor cores, such as A100, has none; the reason is the
// profile's source for it). An FP8 KV cache needs none: it is read and converted to BF16 in the
// attention kernel (vLLM runs kv_cache_dtype=fp8 on Ampere too).
void require_precision_support(const ModelSpec& m, const SystemProfile& prof);

}  // namespace tpbench
