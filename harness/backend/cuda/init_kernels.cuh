#pragma once
// Device-side initialisation of a program's buffers with the values of
// kernels/detail/init_values.hpp: bit-identical (before BF16 rounding) to the CPU backend's.
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include "harness/plan/step_program.hpp"

namespace tpbench::cuda {

// Fills buffer `index` of rank program `r` (BF16, `dst` holds b.elements values).
void init_buffer(const ModelSpec& m, const RankProgram& r, int index, uint64_t seed, __nv_bfloat16* dst,
                 cudaStream_t s);

// Fills FP8 weight buffer `index` (InitKind::Weights, every element covered by a segment) with
// E4M3(value / scale), stored transposed: the program's k x n matrix (n = `cols`) as w_t[n][k],
// the layout cuBLASLt's FP8 GEMM reads (harness/backend/fp8_gemm_plan.hpp).
void init_fp8_weight(const ModelSpec& m, const RankProgram& r, int index, uint64_t seed, int64_t cols, float scale,
                     __nv_fp8_e4m3* dst, cudaStream_t s);

// Fills FP8 KV cache buffer `index` with E4M3(value / fp8::kActivationScale), the values the cpu
// backend's FP8 cache holds.
void init_fp8_kv(const ModelSpec& m, const RankProgram& r, int index, uint64_t seed, __nv_fp8_e4m3* dst,
                 cudaStream_t s);

}  // namespace tpbench::cuda
