#pragma once
// The feed-forward block of a mixture-of-experts layer in the tp plan: router GEMM, gate, the
// routed experts as grouped GEMMs, the gate-weighted combine, the shared experts, and the
// communication that returns every rank the block's output.
//
//   ep == 1  every rank holds every expert's 1/tp slice (TP within experts): it runs all tokens
//            through its slices, and an all-reduce sums the slices (as a dense MLP).
//   ep > 1   the experts are spread over ep groups of tp/ep ranks (each expert sharded over its
//            group): each rank routes its 1/tp shard of the tokens, an all-to-all dispatches
//            every (token, expert) row to the ranks of that expert's group, the grouped GEMMs run
//            there, an all-to-all returns the partial outputs, the owner sums them with the gate
//            weights, and an all-gather returns every rank all tokens. Shared experts are whole on
//            every rank and run on the owner's shard.
#include <vector>

#include "harness/plan/detail/program_builder.hpp"

namespace tpbench::detail {

// The tokens of the step: row g is position prior + g % tokens of sequence g / tokens.
struct MoeStepTokens {
  int64_t seqs = 0, tokens = 1, prior = 0;
  int64_t rows() const { return seqs * tokens; }
};

// The experts of every layer run, drawn once per program (moe_routing.hpp): chosen[l] holds k
// expert ids per token row (empty for dense layers).
struct MoeRouting {
  std::vector<std::vector<int32_t>> chosen;
};
MoeRouting route_step(const ModelSpec& m, const StepConfig& c, int64_t layers, const MoeStepTokens& tokens);

struct MoeLayerWeights {
  int router = -1, experts_gate_up = -1, experts_down = -1, shared_gate_up = -1, shared_down = -1;
};
MoeLayerWeights declare_moe_weights(ProgramBuilder& b, const StepConfig& c, int rank, int layer);

// Scratch buffers of the MoE blocks, shared by the layers and sized for the largest of them.
struct MoeScratch {
  int logits = -1, gates = -1, send = -1, recv = -1, expert_in = -1, gate_up = -1, act = -1, expert_out = -1,
      shared_gate_up = -1, shared_act = -1, shared_out = -1, shard_out = -1, gathered = -1;
  int64_t capacity = 0;  // ep > 1: all-to-all rows per peer, the largest over the layers
};
MoeScratch declare_moe_scratch(ProgramBuilder& b, const StepConfig& c, int rank, const MoeRouting& routing,
                               const MoeStepTokens& tokens);

// What the residual stream adds after the block: `sum` (the tokens' rows), once op `wait` is done.
struct MoeBlockOutput {
  int wait = -1;
  View sum;
};
// `h`: the normed input of every token [rows, hidden], written by op `h_ready`; `comm`: the
// stream of the block's collectives.
MoeBlockOutput build_moe_block(ProgramBuilder& b, const StepConfig& c, int rank, int layer,
                               const MoeLayerWeights& w, const MoeScratch& s, const MoeRouting& routing,
                               const MoeStepTokens& tokens, View h, StreamId comm);

}  // namespace tpbench::detail
