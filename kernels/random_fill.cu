#include "kernels/random_fill.cuh"

#include "kernels/detail/counter_rng.hpp"

namespace tpbench::kernels {
namespace {

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16(v);
}

template <typename T>
__global__ void random_fill_kernel(T* dst, int64_t n, uint64_t seed, uint64_t stream, float scale,
                                   float shift) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    dst[i] = from_float<T>(scale * rng::uniform_pm1(seed, stream, uint64_t(i)) + shift);
  }
}

template <typename T>
cudaError_t launch(T* dst, int64_t n, uint64_t seed, uint64_t stream, float scale, float shift,
                   cudaStream_t s) {
  if (n <= 0) return cudaSuccess;
  const int threads = 256;
  // Grid-stride loop: enough blocks to fill any GPU, capped so huge buffers reuse threads.
  const int64_t blocks = (n + threads - 1) / threads;
  const unsigned grid = unsigned(blocks < 65536 ? blocks : 65536);
  random_fill_kernel<T><<<grid, threads, 0, s>>>(dst, n, seed, stream, scale, shift);
  return cudaGetLastError();
}

}  // namespace

cudaError_t random_fill_bf16(__nv_bfloat16* dst, int64_t n, uint64_t seed, uint64_t stream,
                             float scale, float shift, cudaStream_t s) {
  return launch(dst, n, seed, stream, scale, shift, s);
}

cudaError_t random_fill_f32(float* dst, int64_t n, uint64_t seed, uint64_t stream, float scale,
                            float shift, cudaStream_t s) {
  return launch(dst, n, seed, stream, scale, shift, s);
}

}  // namespace tpbench::kernels
