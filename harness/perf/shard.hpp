#pragma once
// Per-GPU shares of a model under vLLM-style tensor parallelism (Megatron column/row split,
// vocab-parallel embedding and LM head, KV heads replicated when TP exceeds them).
#include <cstdint>

#include "harness/model/model_spec.hpp"

namespace tpbench {

// KV heads held by one GPU: kv_heads / tp, or 1 when tp > kv_heads (replicated, as vLLM does).
int64_t kv_heads_per_gpu(const ModelSpec& m, int tp);
// Linear-layer weight elements of one transformer layer on one GPU (norms are replicated).
int64_t layer_params_per_gpu(const ModelSpec& m, int tp);
// All weight bytes resident on one GPU (layers + vocab-parallel embedding and LM head + norm).
double weight_bytes_per_gpu(const ModelSpec& m, int tp);
// Weight bytes one decode step streams from HBM on one GPU: every layer and the LM head; the
// embedding is a row gather and costs nothing measurable.
double streamed_weight_bytes_per_gpu(const ModelSpec& m, int tp);
// K and V bytes of one token on one GPU, all layers.
double kv_bytes_per_token_per_gpu(const ModelSpec& m, int tp);

}  // namespace tpbench
