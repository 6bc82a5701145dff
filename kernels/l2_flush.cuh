#pragma once
// L2 flush for cold-cache measurements (as nvbench does): reading a buffer at least as large as
// the L2 evicts whatever the previous iteration left there (and leaves only clean lines). RAII: the buffer lives as long as the
// object. Construct it on the device to be flushed (the current device).
#include <cuda_runtime.h>

#include <cstddef>

namespace tpbench::kernels {

class L2Flush {
 public:
  // Allocates 2 x the current device's L2 size (the L2 is not strictly LRU, so one L2 size of
  // writes can leave lines behind). Throws std::runtime_error (file:line, CUDA error) on failure.
  L2Flush();
  ~L2Flush();
  L2Flush(const L2Flush&) = delete;
  L2Flush& operator=(const L2Flush&) = delete;

  // Queues the flush on `stream` (one read kernel, graph-capturable). Throws on failure.
  void flush(cudaStream_t stream);
  size_t bytes() const { return bytes_; }
  int l2_bytes() const { return l2_bytes_; }

 private:
  void* buffer_ = nullptr;
  size_t bytes_ = 0;
  int l2_bytes_ = 0;
};

}  // namespace tpbench::kernels
