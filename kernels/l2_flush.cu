// L2 flush: a read pass over 2 x L2 bytes with normal caching (stream_read, ReadCaching::Allocate),
// so the buffer's lines displace whatever the previous iteration left in the L2. A read rather
// than a memset: a memset leaves up to one L2 of dirty lines, and the next (timed) kernel would
// pay for writing them back to HBM while it reads its own data; clean lines are evicted for free.
// Not the streaming read of the bandwidth benchmark: its evict-first hint would let the flush's
// own lines go first. Serves the benchmarks that check the kernels' bandwidth targets (skinny GEMM >= 90 %,
// decode attention >= 85 % of the measured HBM read bandwidth): each timed iteration starts cold.
// UNVERIFIED: compiled for sm_90 on a machine without a GPU, never run.
#include "kernels/l2_flush.cuh"

#include "kernels/detail/cuda_check.hpp"
#include "kernels/stream_read.cuh"

namespace tpbench::kernels {
namespace {

constexpr size_t kSinkBytes = 16;  // after the flushed bytes: stream_read's (never written) sink

}  // namespace

L2Flush::L2Flush() {
  int dev = 0;
  TPBENCH_CUDA_CHECK(cudaGetDevice(&dev));
  TPBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes_, cudaDevAttrL2CacheSize, dev));
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
  TPBENCH_CUDA_CHECK(
      stream_read(base, bytes_, reinterpret_cast<uint32_t*>(base + bytes_), stream, ReadCaching::Allocate));
}

}  // namespace tpbench::kernels
