#include "harness/perf/roofline.hpp"

#include <algorithm>
#include <cmath>

#include "harness/perf/shard.hpp"

namespace tpbench {

RooflineModel::RooflineModel(const ModelSpec& m, int tp, const SystemProfile& prof, const PerfParams& par)
    : m_(m), tp_(tp), prof_(prof), par_(par) {
  streamed_weights_ = streamed_weight_bytes_per_gpu(m, tp);
  // 2 FLOPs per multiply-add over every linear weight of every layer on this GPU (norms excluded).
  layer_flops_per_token_ = 2.0 * double(m.layers) * double(layer_params_per_gpu(m, tp) - 2 * m.hidden);
  head_flops_per_row_ = 2.0 * double(m.vocab) * double(m.hidden) / tp;
  kv_per_token_ = kv_bytes_per_token_per_gpu(m, tp);
  // QK^T and PV: 2 x 2 FLOPs per (query, key) pair per local query head per head_dim, all layers.
  attn_flops_per_pair_ = 4.0 * double(m.layers) * double(m.q_heads / tp) * double(m.head_dim);
}

RooflineModel::TokenTerms RooflineModel::token_terms(double tokens, double logits) const {
  // The engine's steps have whole token and logits counts; anything else is computed each time.
  const bool whole = tokens == std::floor(tokens) && logits == std::floor(logits) && tokens < 4294967296.0 &&
                     logits >= 0 && logits < 4294967296.0;
  if (!whole) return compute_token_terms(tokens, logits);
  const uint64_t key = (uint64_t(tokens) << 32) | uint64_t(logits);
  if (auto it = token_cache_.find(key); it != token_cache_.end()) return it->second;
  return token_cache_.emplace(key, compute_token_terms(tokens, logits)).first->second;
}

RooflineModel::TokenTerms RooflineModel::compute_token_terms(double tokens, double logits) const {
  TokenTerms t;
  t.gemm_fraction = prof_.gemm_fraction(tokens, tp_);
  if (tp_ > 1) {
    // Megatron TP: one all_reduce of tokens x hidden after attention and after the MLP in
    // every layer, one for the vocab-parallel embedding; the LM head gathers the logits.
    const double ar_bytes = tokens * m_.hidden * dtype_bytes(m_.dtype);
    const double n_ar = 2.0 * m_.layers + 1.0;
    // A calibrated profile may carry only all_reduce; its time bounds the logits gather.
    const bool has_gather = prof_.collectives.curves().count(CollectiveKind::AllGather) > 0;
    const double gather_bytes = std::max(1.0, logits) * m_.vocab * dtype_bytes(m_.dtype);
    t.collective_s = par_.collective_scale *
                     (n_ar * prof_.collectives.time_s(CollectiveKind::AllReduce, tp_, ar_bytes) +
                      prof_.collectives.time_s(has_gather ? CollectiveKind::AllGather : CollectiveKind::AllReduce,
                                                tp_, gather_bytes));
    t.collective_s += par_.collective_hop_latency_s * (n_ar * 2.0 * (tp_ - 1) + (tp_ - 1));
    t.collective_bytes = n_ar * ar_bytes + gather_bytes;
  }
  return t;
}

StepCost RooflineModel::step(const StepShape& s) const {
  StepCost c;
  const double tokens = s.decode_seqs + s.prefill_tokens;
  if (tokens <= 0) return c;
  const double bw = prof_.hbm_bandwidth * par_.hbm_efficiency;
  const double flops_rate = prof_.matmul_flops * par_.compute_efficiency;

  c.weight_bytes = streamed_weights_;
  const double gemm_flops = layer_flops_per_token_ * tokens + head_flops_per_row_ * s.logits;
  c.gemm_memory_s = streamed_weights_ / bw;
  const TokenTerms tt = token_terms(tokens, s.logits);
  c.gemm_compute_s = gemm_flops / (flops_rate * tt.gemm_fraction);
  c.gemm_s = std::max(c.gemm_memory_s, c.gemm_compute_s);

  c.kv_bytes = kv_per_token_ * s.decode_ctx_tokens;
  c.decode_attn_s = c.kv_bytes / (bw * prof_.decode_attention_efficiency);
  const double attn_flops = attn_flops_per_pair_ * s.prefill_attn_pairs;
  c.prefill_attn_s = attn_flops / (prof_.peak_matmul_flops * prof_.attention_efficiency * par_.compute_efficiency);
  c.flops = gemm_flops + attn_flops;

  c.collective_s = tt.collective_s;  // 0 at TP1
  c.collective_bytes = tt.collective_bytes;
  c.overhead_s = prof_.per_step_overhead_s + prof_.per_layer_overhead_s * m_.layers;
  // A stack that runs this TP's steps slower in proportion to their work (1 = the hardware):
  // every part of the step stretches, so the breakdown still sums to the total.
  if (const double k = step_time_scale(par_, tp_); k != 1.0) {
    for (double* t : {&c.gemm_s, &c.gemm_memory_s, &c.gemm_compute_s, &c.decode_attn_s, &c.prefill_attn_s,
                      &c.collective_s, &c.overhead_s})
      *t *= k;
  }
  c.overhead_s += stack_step_overhead_s(par_, tp_);
  c.total_s = c.gemm_s + c.decode_attn_s + c.prefill_attn_s + c.collective_s + c.overhead_s;
  return c;
}

}  // namespace tpbench
