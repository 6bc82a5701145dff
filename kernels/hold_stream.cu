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

cudaError_t occupy_stream(double seconds, cudaStream_t s) {
  spin_kernel<<<1, 32, 0, s>>>(seconds > 0 ? uint64_t(seconds * 1e9) : 0);
  return cudaGetLastError();
}

cudaError_t hold_stream(double seconds, cudaStream_t s) {
  if (seconds <= 0) return cudaSuccess;
  return occupy_stream(seconds, s);
}

}  // namespace tpbench::kernels
