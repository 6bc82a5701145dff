#include "harness/backend/cuda/emulated_collective.cuh"

#include <algorithm>

#include "harness/measure/stats.hpp"
#include "kernels/detail/cuda_check.hpp"
#include "kernels/detail/cuda_raii.hpp"
#include "kernels/detail/event_timer.hpp"
#include "kernels/hold_stream.cuh"

namespace tpbench::cuda {

double emulated_collective_overshoot_s() {
  constexpr double kWait = 20e-6;
  constexpr int kBatch = 20;
  cuda_detail::CudaStream stream;
  const cudaStream_t s = stream.get();
  auto batch = [&] {
    for (int i = 0; i < kBatch; ++i) TPBENCH_CUDA_CHECK(kernels::hold_stream(kWait, s));
  };
  const auto t = cuda_detail::event_times(s, 2, 5, [] {}, batch);
  return std::max(0.0, summarize(t).median / kBatch - kWait);
}

}  // namespace tpbench::cuda
