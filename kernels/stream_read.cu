#include "kernels/stream_read.cuh"

#include <algorithm>

namespace tpbench::kernels {
namespace {

template <ReadCaching C>
__global__ void stream_read_kernel(const uint4* __restrict__ src, int64_t n16, uint32_t* __restrict__ sink) {
  uint32_t x = 0;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n16; i += stride) {
    // Streaming: no reuse, do not keep it in L2. Allocate: an ordinary load.
    const uint4 v = C == ReadCaching::Streaming ? __ldcs(src + i) : src[i];
    x ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (x == 0x9e3779b9u) sink[0] = x;
}

__global__ void stream_copy_kernel(const uint4* __restrict__ src, uint4* __restrict__ dst, int64_t n16) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n16; i += stride) __stcs(dst + i, __ldcs(src + i));
}

constexpr int kThreads = 256;

// Enough CTAs for every SM to hold as many threads as it can (the loops above are grid-stride).
cudaError_t full_grid(unsigned* grid) {
  int dev = 0, sms = 0, per_sm = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxThreadsPerMultiProcessor, dev);
  *grid = unsigned(std::max(1, sms * std::max(1, per_sm / kThreads)));
  return e;
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

cudaError_t stream_read(const void* src, size_t bytes, uint32_t* sink, cudaStream_t stream, ReadCaching caching) {
  if (bytes % 16 != 0 || !aligned16(src) || sink == nullptr) return cudaErrorInvalidValue;
  unsigned grid = 0;
  if (const cudaError_t e = full_grid(&grid); e != cudaSuccess) return e;
  const auto* p = static_cast<const uint4*>(src);
  if (caching == ReadCaching::Streaming)
    stream_read_kernel<ReadCaching::Streaming><<<grid, kThreads, 0, stream>>>(p, int64_t(bytes / 16), sink);
  else
    stream_read_kernel<ReadCaching::Allocate><<<grid, kThreads, 0, stream>>>(p, int64_t(bytes / 16), sink);
  return cudaGetLastError();
}

cudaError_t stream_copy(const void* src, void* dst, size_t bytes, cudaStream_t stream) {
  if (bytes % 16 != 0 || !aligned16(src) || !aligned16(dst)) return cudaErrorInvalidValue;
  unsigned grid = 0;
  if (const cudaError_t e = full_grid(&grid); e != cudaSuccess) return e;
  stream_copy_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const uint4*>(src), static_cast<uint4*>(dst),
                                                    int64_t(bytes / 16));
  return cudaGetLastError();
}

}  // namespace tpbench::kernels
