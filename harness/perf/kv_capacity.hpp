#pragma once
// KV-cache capacity of one instance, the way vLLM sizes it: GPU memory x utilization, minus the
// weights each GPU holds, minus the memory the profiling run reserves (runtime + the
// activations of one max_num_batched_tokens forward pass); what is left holds KV blocks. The
// weights, KV bytes and activations are the plan's own buffers, so capacity follows the plan
// (weight-gather: 1/N of the weights plus two gather buffers, each rank holding whole KV rows of
// its own requests).
#include <cstdint>

#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/perf/system_profile.hpp"

namespace tpbench {

struct KvCapacity {
  double budget_bytes = 0;       // memory_bytes x utilization, per GPU
  double weight_bytes = 0;       // per GPU (the most loaded)
  double reserve_bytes = 0;      // runtime reserve + activation peak, per GPU
  double activation_bytes = 0;   // part of reserve_bytes
  double kv_bytes = 0;           // left for KV, per GPU (may be negative: does not fit)
  double kv_bytes_per_token = 0; // per GPU, for one token held by the instance (the most loaded GPU)
  int64_t tokens = 0;            // KV tokens one instance holds (0 when nothing is left)
  // Largest number of sequences of seq_tokens each that fit at once.
  int64_t max_sequences(int64_t seq_tokens) const { return seq_tokens > 0 ? tokens / seq_tokens : 0; }
};

// What the plan's buffers need per GPU (the most loaded rank).
struct PlanMemory {
  double weight_bytes = 0;        // resident weights, all layers
  double kv_bytes_per_token = 0;  // KV bytes for one token of the instance
  double activation_bytes = 0;    // activations and gather buffers of a forward pass over `tokens`
};
PlanMemory plan_memory(const ModelSpec& m, int tp, const StepScheme& scheme, int64_t tokens);

// Activation peak per GPU of the profiling run: the plan's activation and staging buffers for
// `tokens` prompt tokens, plus fp32 logits and their softmax copy for max_num_seqs sampled rows
// (vLLM's sampler).
double activation_peak_bytes(const ModelSpec& m, int tp, int64_t tokens, int64_t max_seqs, const StepScheme& scheme = {});

KvCapacity kv_capacity(const ModelSpec& m, int tp, const SystemProfile& prof, const PerfParams& par,
                       const StepScheme& scheme = {});

}  // namespace tpbench
