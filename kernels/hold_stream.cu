#include "kernels/hold_stream.cuh"

#include <cstdint>

namespace tpbench::kernels {
namespace {

__global__ void spin_kernel(uint64_t ns) {
  uint64_t start = 0, now = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    __nanosleep(200);
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < ns);
}

}  // namespace

cudaError_t hold_stream(double seconds, cudaStream_t s) {
  if (seconds <= 0) return cudaSuccess;
  spin_kernel<<<1, 32, 0, s>>>(uint64_t(seconds * 1e9));
  return cudaGetLastError();
}

}  // namespace tpbench::kernels
