#pragma once
// Plans: turn (model, TP, batch, context, phase, overlap) into per-rank StepPrograms.
//   tp            Megatron/vLLM tensor parallelism: QKV and gate/up column-parallel, O and down
//                 row-parallel, an all-reduce of tokens x hidden after each row-parallel GEMM,
//                 vocab-parallel LM head whose logits are all-gathered.
//   tp-sp         sequence-parallel variant: the residual stream is sharded by tokens; each
//                 all-reduce becomes a reduce-scatter, and an all-gather precedes each
//                 column-parallel GEMM.
//   weight-gather every rank stores 1/N of each layer's weights and all-gathers layer l (into
//                 one of two buffers) before running it on its own ceil(B/N) requests.
#include "harness/plan/step_program.hpp"

namespace tpbench {

// Validates the configuration (throws UsageError naming the problem) and builds the program.
StepProgram build_program(const ModelSpec& model, const StepConfig& config);

// The configuration checks alone: TP against the model, batch, context, chunk, layers, and the
// plan/overlap combination.
void validate_config(const ModelSpec& model, const StepConfig& config);

namespace detail {
void build_tp_rank(const ModelSpec& m, const StepConfig& c, int64_t layers, bool sequence_parallel,
                   RankProgram& r);
void build_weight_gather_rank(const ModelSpec& m, const StepConfig& c, int64_t layers, RankProgram& r);
}  // namespace detail

}  // namespace tpbench
