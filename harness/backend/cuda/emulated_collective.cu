#include "harness/backend/cuda/emulated_collective.cuh"

#include <algorithm>

#include "harness/backend/cuda/device_resources.hpp"
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
  // The waits run inside the step's CUDA graphs, where the gap between two kernels is smaller
  // than between two stream launches: measure them the same way.
  GraphExec graph;
  {
    CaptureGuard capture(s);
    for (int i = 0; i < kBatch; ++i) TPBENCH_CUDA_CHECK(kernels::occupy_stream(kWait, s));
    graph = capture.finish();
  }
  const auto t = cuda_detail::event_times(s, 2, 5, [] {}, [&] { graph.launch(s); });
  return std::max(0.0, summarize(t).median / kBatch - kWait);
}

double emulated_spin_s(double collective_s, double overshoot_s) {
  return std::max(0.0, collective_s - std::max(0.0, overshoot_s));
}

}  // namespace tpbench::cuda
