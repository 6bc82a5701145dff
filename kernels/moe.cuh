#pragma once
// The mixture-of-experts ops of a step in BF16 with FP32 math, driven by index arrays the plan
// fixed when it was built (harness/backend/moe_device_tables.hpp). The semantics are the CPU
// backend's (harness/backend/detail/cpu_ops.cpp, run_moe_op):
//   moe_gate:    gate[r, j] = softmax over j' < k of logits[r, chosen[r k + j']], at j
//   gather_rows: out[r, :] = a[source[r], :]; a row whose source is -1 is left as it is
//   moe_combine: out[o, :] = sum over the terms t of row o of gate[gate_off[t]] * a[source[t], :],
//                the terms in order (row_start is a CSR over the output rows); no terms: zero
// Every output element is computed by one thread in a fixed order: no atomics, so that graph
// replays give identical results.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace tpbench::kernels {

// logits: [rows][>= max chosen id + 1] (ldl), chosen: [rows][k], gate: [rows][k] (ldg).
cudaError_t moe_gate_bf16(const __nv_bfloat16* logits, int64_t ldl, const int32_t* chosen, int64_t k,
                          __nv_bfloat16* gate, int64_t ldg, int64_t rows, cudaStream_t stream);

// a: [*][cols] (lda), source: [rows], out: [rows][cols] (ldo). out must not overlap a.
cudaError_t gather_rows_bf16(const __nv_bfloat16* a, int64_t lda, const int32_t* source, __nv_bfloat16* out,
                             int64_t ldo, int64_t rows, int64_t cols, cudaStream_t stream);

// a: [*][cols] (lda); gate: the gate view's first element (gate_off indexes from it);
// row_start: [rows + 1]; gate_off, source: [row_start[rows]]; out: [rows][cols] (ldo), not
// overlapping a or gate.
cudaError_t moe_combine_bf16(const __nv_bfloat16* a, int64_t lda, const __nv_bfloat16* gate, const int32_t* row_start,
                             const int32_t* gate_off, const int32_t* source, __nv_bfloat16* out, int64_t ldo,
                             int64_t rows, int64_t cols, cudaStream_t stream);

}  // namespace tpbench::kernels
