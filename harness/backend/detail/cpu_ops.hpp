#pragma once
// FP32 reference implementations of the StepProgram ops for the CPU backend. These are the
// numerics that --verify compares across plans, and the reference the CUDA kernels are tested
// against.
#include <vector>

#include "harness/plan/step_program.hpp"

namespace tpbench::detail {

// One rank's memory: a float vector per buffer of the program.
using HostBuffers = std::vector<std::vector<float>>;

// Writes the deterministic initial values of every buffer (see kernels/detail/init_values.hpp).
void init_buffers(const ModelSpec& m, const RankProgram& r, uint64_t seed, HostBuffers& mem);

// Executes one non-collective op; `tables` are the program's MoE row maps (Op::moe.table).
void run_compute_op(const Op& op, HostBuffers& mem, const std::vector<MoeTable>& tables = {});

// The mixture-of-experts ops (moe_gate, gather_rows, grouped_gemm, moe_combine) on one table.
void run_moe_op(const Op& op, const MoeTable& table, HostBuffers& mem);

// Decode/prefill attention over a KV cache with grouped-query heads (causal within the chunk):
// writes the new tokens' K and V into the caches, then out = softmax(q K^T / sqrt(d)) V.
void attention_reference(const Op& op, HostBuffers& mem);

}  // namespace tpbench::detail
