#include "harness/perf/op_pricing.hpp"

#include <algorithm>

#include "harness/common/error.hpp"
#include "harness/perf/measured_step_times.hpp"  // interpolate_linear

namespace tpbench {

const char* op_bound_name(OpBound b) {
  switch (b) {
    case OpBound::Empty: return "none";
    case OpBound::Memory: return "memory";
    case OpBound::Compute: return "compute";
    case OpBound::Latency: return "latency";
    case OpBound::Link: return "link";
    case OpBound::Measured: return "measured";
  }
  return "?";
}

namespace {

double hbm_rate(const PricingContext& c) { return c.profile->hbm_bandwidth * c.params->hbm_efficiency; }
double matmul_rate(const PricingContext& c) { return c.profile->matmul_flops * c.params->compute_efficiency; }

// The tensor-core rate for a GEMM's weight type: FP8 weights run FP8 x FP8 (the input quantized
// per tensor), at the profile's FP8 rate.
double gemm_rate(const Op& op, const PricingContext& c) {
  if (op.w.dtype != DType::FP8E4M3) return matmul_rate(c);
  if (!(c.profile->fp8_matmul_flops > 0))
    throw UsageError("profile '" + c.profile->name + "' has no FP8 matmul rate for GEMM '" + op.name + "'");
  return c.profile->fp8_matmul_flops * c.params->compute_efficiency;
}

// The larger of the streamed and the computed time, plus the kernel's fixed cost; the bound is
// whichever of the three is largest.
OpPrice roofline(double memory_s, double compute_s, double fixed_s) {
  OpPrice p;
  p.memory_s = memory_s;
  p.compute_s = compute_s;
  p.fixed_s = fixed_s;
  p.seconds = std::max(memory_s, compute_s) + fixed_s;
  p.bound = fixed_s > std::max(memory_s, compute_s) ? OpBound::Latency
            : compute_s > memory_s                   ? OpBound::Compute
                                                     : OpBound::Memory;
  return p;
}

OpPrice roofline_gemm(const Op& op, const PricingContext& c) {
  const double fraction = c.profile->gemm_fraction(double(op.a.rows), c.tp);
  return roofline(op.weight_bytes / hbm_rate(c), op.flops / (gemm_rate(op, c) * fraction), c.profile->kernel_overhead_s);
}

OpPrice price_gemm(const Op& op, const PricingContext& c) {
  const double m = double(op.a.rows);
  // Measured tables are BF16 GEMMs (calibrate): an FP8 GEMM of the same shape is priced by the
  // roofline at the FP8 rate.
  const SystemProfile::GemmTimes* t = op.w.dtype == DType::BF16 ? c.profile->gemm_table(op.w.cols, op.a.cols) : nullptr;
  if (t) {
    std::vector<double> ms, secs;
    for (const auto& [pm, ps] : t->points) {
      ms.push_back(pm);
      secs.push_back(ps);
    }
    OpPrice p;
    const Lookup l = interpolate_linear(ms, secs, m);
    p.seconds = l.value_s;
    p.memory_s = op.weight_bytes / hbm_rate(c);
    p.bound = OpBound::Measured;
    // Beyond the largest measured m a straight line from the last two points may undercut the
    // FLOPs: never faster than the roofline there.
    if (l.outside && m > ms.back()) p.seconds = std::max(p.seconds, roofline_gemm(op, c).seconds);
    return p;
  }
  return roofline_gemm(op, c);
}

// A grouped GEMM over the experts the step touches: their weights stream once, and each expert's
// GEMM runs at the efficiency of its own rows (the pairs spread over the experts touched). No
// measured table applies: calibrate measures dense shapes.
OpPrice price_grouped_gemm(const Op& op, const PricingContext& c) {
  const double per_expert_bytes = double(op.a.cols) * double(op.w.cols) * dtype_bytes(op.w.dtype);
  const double touched = per_expert_bytes > 0 ? op.weight_bytes / per_expert_bytes : 0.0;
  const double rows_per_expert = double(op.a.rows) / std::max(1.0, touched);
  const double fraction = c.profile->gemm_fraction(rows_per_expert, c.tp);
  return roofline(op.weight_bytes / hbm_rate(c), op.flops / (gemm_rate(op, c) * fraction), c.profile->kernel_overhead_s);
}

OpPrice price_attention(const Op& op, const AttentionWork& w, const PricingContext& c) {
  const AttentionBytes bytes = attention_bytes(op.attn, w, c.element_bytes);
  const double decode_s = bytes.decode / (hbm_rate(c) * c.profile->decode_attention_efficiency);
  const double prefill_flops = 4.0 * double(op.attn.head_dim) * double(op.attn.q_heads) * w.prefill_attn_pairs;
  const double prefill_s = prefill_flops / (c.profile->peak_matmul_flops * c.profile->attention_efficiency *
                                            c.params->compute_efficiency);
  // Decode queries stream their K/V, prefill chunks compute: the two parts add.
  OpPrice p = roofline(decode_s, prefill_s, c.profile->kernel_overhead_s);
  p.seconds = decode_s + prefill_s + p.fixed_s;
  return p;
}

// The kind whose table prices `kind` on `prof`: its own, else all_reduce's where that bounds it
// (a calibrated profile may carry all_reduce alone; CollectiveTraits::bounded_by_all_reduce).
// all_to_all has no such bound (pairwise point-to-point sends, slower than one all-reduce at
// small sizes), and no other table describes it: a profile without one is refused by name
// rather than priced by a rule that may be optimistic.
CollectiveKind collective_table_for(const SystemProfile& prof, CollectiveKind kind) {
  if (prof.collectives.curves().count(kind) > 0) return kind;
  const CollectiveTraits& traits = collective_traits(kind);
  if (!traits.bounded_by_all_reduce)
    throw UsageError("profile '" + prof.name + "' has no " + traits.name +
                     " table (the built-in profiles carry one; tpbench calibrate measures it for plans that send " +
                     traits.name + ")");
  return CollectiveKind::AllReduce;
}

OpPrice price_collective(const Op& op, const PricingContext& c) {
  const SystemProfile& prof = *c.profile;
  const PerfParams& par = *c.params;
  const int n = op.group_size;
  OpPrice p;
  if (n <= 1) {  // a group of one copies its input
    p.memory_s = op.hbm_bytes / hbm_rate(c);
    p.seconds = p.memory_s;
    p.bound = OpBound::Memory;
    return p;
  }
  const CollectiveTraits& traits = collective_traits(op.collective);
  const double t = prof.collectives.time_s(collective_table_for(prof, op.collective), n, op.message_bytes);
  const double floor_s = prof.collectives.time_s(collective_table_for(prof, op.collective), n, 1.0);
  p.seconds = par.collective_scale * t + par.collective_hop_latency_s * traits.ring_steps(n);
  p.bound = t < 2 * floor_s ? OpBound::Latency : OpBound::Link;
  return p;
}

}  // namespace

void require_precision_support(const ModelSpec& m, const SystemProfile& prof) {
  if (m.weight_dtype != DType::FP8E4M3 || prof.fp8_matmul_flops > 0) return;
  const auto why = prof.sources.find("fp8_matmul_flops");
  throw UsageError("profile '" + prof.name + "' cannot run FP8 weights: " +
                   (why != prof.sources.end() ? why->second : std::string("it has no fp8_matmul_flops")));
}

OpPrice price_op(const Op& op, const AttentionWork& attn, const PricingContext& c) {
  if (op_is_empty(op)) return {};
  switch (op.kind) {
    case OpKind::Gemm: return price_gemm(op, c);
    case OpKind::Attention: return price_attention(op, attn, c);
    case OpKind::Collective: return price_collective(op, c);
    case OpKind::GroupedGemm: return price_grouped_gemm(op, c);
    case OpKind::RmsNorm:
    case OpKind::SiluMul:
    case OpKind::ResidualAdd:
    case OpKind::Copy:
    case OpKind::MoeGate:
    case OpKind::GatherRows:
    case OpKind::MoeCombine: return roofline(op.hbm_bytes / hbm_rate(c), 0.0, c.profile->kernel_overhead_s);
  }
  return {};
}

}  // namespace tpbench
