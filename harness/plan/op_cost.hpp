#pragma once
// The work of one op, one formula per op kind: what a plan records at the program's shapes and
// what the cost model prices at any engine step (the same ops with their rows re-evaluated).
#include "harness/plan/step_program.hpp"
#include "harness/plan/step_work.hpp"

namespace tpbench {

// Fills op.flops, hbm_bytes, weight_bytes, kv_bytes, message_bytes and bytes_per_rank from
// the op's views (and, for attention, `attn`). An op without rows does nothing and costs 0.
void set_op_cost(Op& op, double element_bytes, const AttentionWork& attn = {});

// Bytes an attention op moves for its decode queries (K/V read and written, queries in and
// outputs out) and for its prefill chunks, apart: the cost model streams the first and
// computes the second.
struct AttentionBytes {
  double decode = 0, prefill = 0;
};
AttentionBytes attention_bytes(const AttentionShape& heads, const AttentionWork& w, double element_bytes);

// The attention work of the op's uniform shape (the executable program's).
AttentionWork attention_work_of(const AttentionShape& s);

// The op with every view's rows re-evaluated at `work` (attention: its share of the work) and
// its cost filled in: what the op does in that step.
Op op_at(const Op& op, const StepWork& work, double element_bytes);

// True when the op does no work (a view without rows: a chunk or rank with no sequences).
bool op_is_empty(const Op& op);

}  // namespace tpbench
