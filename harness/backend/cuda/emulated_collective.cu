#include "harness/backend/cuda/emulated_collective.cuh"

#include <algorithm>
#include <cstdint>

#include "kernels/detail/cuda_check.hpp"
#include "kernels/detail/cuda_raii.hpp"
#include "kernels/detail/event_timer.hpp"

namespace tpbench::cuda {
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

double emulated_collective_overshoot_s() {
  constexpr double kWait = 20e-6;
  constexpr int kBatch = 20;
  cuda_detail::CudaStream stream;
  const cudaStream_t s = stream.get();
  auto batch = [&] {
    for (int i = 0; i < kBatch; ++i) TPBENCH_CUDA_CHECK(hold_stream(kWait, s));
  };
  const auto t = cuda_detail::event_times(s, 2, 5, [] {}, batch);
  return std::max(0.0, cuda_detail::median_of_sorted(t) / kBatch - kWait);
}

}  // namespace tpbench::cuda
