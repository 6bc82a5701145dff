// L2 flush: a read pass over 2 x L2 bytes with normal caching, so the buffer's lines displace
// whatever the previous iteration left in the L2. A read rather than a memset: a memset leaves
// ~2 x L2 of dirty lines, and the next (timed) kernel would pay for writing them back to HBM
// while it reads its own data; clean lines are evicted for free. Not the streaming read of
// stream_read.cu: its evict-first hint would let the flush's own lines be evicted first. Serves
// the benchmarks that check issue 5's targets (skinny GEMM >= 90 %, decode attention >= 85 % of
// the measured HBM read bandwidth): each timed iteration starts cold. UNVERIFIED: compiled for
// sm_90 on a machine without a GPU, never run.
#include "kernels/l2_flush.cuh"

#include <algorithm>
#include <cstdint>

#include "kernels/detail/cuda_check.hpp"

namespace tpbench::kernels {
namespace {

constexpr int kThreads = 256;
constexpr size_t kSinkBytes = 16;  // after the flushed bytes

__global__ void l2_flush_read_kernel(const uint4* src, int64_t n16, uint32_t* sink) {
  uint32_t x = 0;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n16; i += stride) {
    const uint4 v = src[i];
    x ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (x == 0x9e3779b9u) sink[0] = x;  // (almost) never: keeps the loads without costing a store
}

}  // namespace

L2Flush::L2Flush() {
  int dev = 0, sms = 0, per_sm = 0;
  TPBENCH_CUDA_CHECK(cudaGetDevice(&dev));
  TPBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes_, cudaDevAttrL2CacheSize, dev));
  TPBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  TPBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxThreadsPerMultiProcessor, dev));
  grid_ = std::max(1, sms * std::max(1, per_sm / kThreads));
  bytes_ = size_t(l2_bytes_ > 0 ? l2_bytes_ : 64 << 20) * 2;  // a device reporting 0: assume 64 MiB
  TPBENCH_CUDA_CHECK(cudaMalloc(&buffer_, bytes_ + kSinkBytes));
  // Defined contents once; the flushes only read them.
  TPBENCH_CUDA_CHECK(cudaMemset(buffer_, 0x5a, bytes_ + kSinkBytes));
}

L2Flush::~L2Flush() {
  if (buffer_) cudaFree(buffer_);  // a destructor cannot report; the error stays sticky for the next check
}

void L2Flush::flush(cudaStream_t stream) {
  auto* base = static_cast<char*>(buffer_);
  l2_flush_read_kernel<<<unsigned(grid_), kThreads, 0, stream>>>(reinterpret_cast<const uint4*>(base),
                                                                   int64_t(bytes_ / 16),
                                                                   reinterpret_cast<uint32_t*>(base + bytes_));
  TPBENCH_CUDA_CHECK(cudaGetLastError());
}

}  // namespace tpbench::kernels
