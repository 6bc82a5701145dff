#pragma once
// BF16 -> FP8 E4M3 with a per-tensor scale: out[r, c] = E4M3(x[r, c] / scale), rounded to
// nearest even and saturated at +-448 (CUDA's __NV_SATFINITE conversion), the rounding of
// kernels/detail/fp8_e4m3.hpp's round_e4m3 that the cpu backend applies.
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace tpbench::kernels {

// x: [rows][cols] (ldx), out: [rows][cols] (ldo).
cudaError_t quantize_bf16_e4m3(const __nv_bfloat16* x, int64_t ldx, __nv_fp8_e4m3* out, int64_t ldo, int64_t rows,
                               int64_t cols, float scale, cudaStream_t stream);

}  // namespace tpbench::kernels
