#pragma once
// Device-side random fill: the same counter-based values as the host (kernels/detail/counter_rng.hpp),
// so buffers filled on the GPU can be checked against a host reference bit for bit.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace tpbench::kernels {

// dst[i] = scale * uniform_pm1(seed, stream, i) + shift, for i in [0, n), as BF16.
cudaError_t random_fill_bf16(__nv_bfloat16* dst, int64_t n, uint64_t seed, uint64_t stream,
                             float scale, float shift, cudaStream_t s);
// The same in FP32.
cudaError_t random_fill_f32(float* dst, int64_t n, uint64_t seed, uint64_t stream, float scale,
                            float shift, cudaStream_t s);

}  // namespace tpbench::kernels
