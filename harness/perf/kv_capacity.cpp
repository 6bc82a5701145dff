#include "harness/perf/kv_capacity.hpp"

#include <cmath>

#include "harness/perf/shard.hpp"

namespace tpbench {

double activation_peak_bytes(const ModelSpec& m, int tp, int64_t tokens, int64_t max_seqs) {
  const double per_token = double(dtype_bytes(m.dtype)) *
                           (4.0 * m.hidden + double(m.q_width()) / tp + 2.0 * kv_heads_per_gpu(m, tp) * m.head_dim +
                            3.0 * double(m.intermediate) / tp);
  const double logits = 2.0 * 4.0 * double(max_seqs) * double(m.vocab);
  return per_token * double(tokens) + logits;
}

KvCapacity kv_capacity(const ModelSpec& m, int tp, const SystemProfile& prof, const PerfParams& par) {
  KvCapacity k;
  k.budget_bytes = prof.memory_bytes * par.gpu_memory_utilization;
  k.weight_bytes = weight_bytes_per_gpu(m, tp);
  k.activation_bytes = activation_peak_bytes(m, tp, par.max_num_batched_tokens, par.max_num_seqs);
  k.reserve_bytes = par.memory_reserve_bytes >= 0 ? par.memory_reserve_bytes
                                                  : prof.runtime_reserve_bytes + k.activation_bytes;
  k.kv_bytes = k.budget_bytes - k.weight_bytes - k.reserve_bytes;
  k.kv_bytes_per_token = kv_bytes_per_token_per_gpu(m, tp);
  k.tokens = k.kv_bytes > 0 ? int64_t(std::floor(k.kv_bytes / k.kv_bytes_per_token)) : 0;
  return k;
}

}  // namespace tpbench
