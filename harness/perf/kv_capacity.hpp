#pragma once
// KV-cache capacity of one TP-N instance, the way vLLM sizes it: GPU memory x utilization,
// minus the weights shard, minus the memory the profiling run reserves (runtime + activation
// peak of one max_num_batched_tokens forward pass); what is left holds KV blocks.
#include <cstdint>

#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/system_profile.hpp"

namespace tpbench {

struct KvCapacity {
  double budget_bytes = 0;       // memory_bytes x utilization, per GPU
  double weight_bytes = 0;       // per GPU
  double reserve_bytes = 0;      // runtime reserve + activation peak, per GPU
  double activation_bytes = 0;   // part of reserve_bytes
  double kv_bytes = 0;           // left for KV, per GPU (may be negative: does not fit)
  double kv_bytes_per_token = 0; // per GPU
  int64_t tokens = 0;            // KV tokens one instance holds (0 when nothing is left)
  // Largest number of sequences of seq_tokens each that fit at once.
  int64_t max_sequences(int64_t seq_tokens) const { return seq_tokens > 0 ? tokens / seq_tokens : 0; }
};

// Activation peak per GPU of one forward pass over `tokens` tokens (the profiling run):
// residual stream, normed input, attention output and MLP output (4 x hidden, replicated),
// the QKV shard, and the gate/up output plus the activated half (3 x intermediate / tp), in the
// model dtype; plus fp32 logits and their softmax copy for max_num_seqs sampled rows.
double activation_peak_bytes(const ModelSpec& m, int tp, int64_t tokens, int64_t max_seqs);

KvCapacity kv_capacity(const ModelSpec& m, int tp, const SystemProfile& prof, const PerfParams& par);

}  // namespace tpbench
