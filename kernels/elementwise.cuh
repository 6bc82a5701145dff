#pragma once
// BF16 elementwise ops of the decode step, FP32 math, strided rows (leading dimensions). The
// semantics are exactly the CPU backend's (harness/backend/detail/cpu_ops.cpp, run_compute_op):
//   rmsnorm:      out[r, c] = x[r, c] / sqrt(mean_c(x[r, :]^2) + 1e-5) * w[c]
//   silu_mul:     out[r, c] = silu(a[r, c]) * a[r, n + c],  silu(g) = g / (1 + exp(-g)),  c < n
//   residual_add: out[r, c] += a[r, c]
// Rows whose data and leading dimensions allow it are processed 8 BF16 (16 bytes) at a time;
// other layouts take a scalar path with the same results.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace tpbench::kernels {

constexpr float kRmsNormEps = 1e-5f;

// x: [rows][cols] (ldx), w: [cols], out: [rows][cols] (ldo). out may alias x.
cudaError_t rmsnorm_bf16(const __nv_bfloat16* x, int64_t ldx, const __nv_bfloat16* w, __nv_bfloat16* out,
                         int64_t ldo, int64_t rows, int64_t cols, cudaStream_t stream);

// a: [rows][2n] (lda), out: [rows][n] (ldo). out must not overlap a.
cudaError_t silu_mul_bf16(const __nv_bfloat16* a, int64_t lda, __nv_bfloat16* out, int64_t ldo, int64_t rows,
                          int64_t n, cudaStream_t stream);

// out[r][c] += a[r][c], both [rows][cols].
cudaError_t residual_add_bf16(const __nv_bfloat16* a, int64_t lda, __nv_bfloat16* out, int64_t ldo,
                              int64_t rows, int64_t cols, cudaStream_t stream);

}  // namespace tpbench::kernels
