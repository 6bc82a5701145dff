#include "harness/perf/shard.hpp"

namespace tpbench {

int64_t kv_heads_per_gpu(const ModelSpec& m, int tp) {
  return m.kv_heads >= tp ? m.kv_heads / tp : 1;
}

int64_t layer_params_per_gpu(const ModelSpec& m, int tp) {
  const int64_t kv_local = kv_heads_per_gpu(m, tp) * m.head_dim;
  const int64_t qkv = m.hidden * (m.q_width() / tp + 2 * kv_local);
  const int64_t o = m.q_width() / tp * m.hidden;
  const int64_t gate_up = m.hidden * 2 * m.intermediate / tp;
  const int64_t down = m.intermediate / tp * m.hidden;
  return qkv + o + gate_up + down + 2 * m.hidden;
}

double weight_bytes_per_gpu(const ModelSpec& m, int tp) {
  const double elems = double(m.layers) * layer_params_per_gpu(m, tp) +
                       double(m.embedding_params()) / tp + double(m.lm_head_params()) / tp + m.hidden;
  return elems * dtype_bytes(m.dtype);
}

double streamed_weight_bytes_per_gpu(const ModelSpec& m, int tp) {
  // Tied embeddings: the LM head reads the embedding matrix.
  const double head = double(m.vocab) * m.hidden / tp;
  return (double(m.layers) * layer_params_per_gpu(m, tp) + head) * dtype_bytes(m.dtype);
}

double kv_bytes_per_token_per_gpu(const ModelSpec& m, int tp) {
  return 2.0 * m.layers * kv_heads_per_gpu(m, tp) * m.head_dim * dtype_bytes(m.dtype);
}

}  // namespace tpbench
