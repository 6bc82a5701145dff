#pragma once
// Timing GPU work with CUDA events, shared by the benchmarks, `tpbench calibrate` and the
// GEMM autotuner: the seconds between two events recorded around the work on one stream.
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "kernels/detail/cuda_check.hpp"
#include "kernels/detail/cuda_raii.hpp"
#include "kernels/hold_stream.cuh"

namespace tpbench::cuda_detail {

class EventTimer {
 public:
  // Seconds of the work `launch` queues on `s` (synchronises on the stop event). A short GPU
  // hold goes first, so the launch is queued before the start event fires: the host's launch
  // latency (several microseconds for cuBLASLt, less for a plain kernel) is not timed, as it is
  // not paid inside a CUDA-graph step either.
  template <typename Launch>
  double seconds(cudaStream_t s, Launch&& launch) {
    TPBENCH_CUDA_CHECK(kernels::hold_stream(kernels::kLaunchHoldS, s));
    TPBENCH_CUDA_CHECK(cudaEventRecord(start_.get(), s));
    launch();
    TPBENCH_CUDA_CHECK(cudaEventRecord(stop_.get(), s));
    TPBENCH_CUDA_CHECK(cudaEventSynchronize(stop_.get()));
    float ms = 0;
    TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start_.get(), stop_.get()));
    return double(ms) * 1e-3;
  }

 private:
  CudaEvent start_{true}, stop_{true};
};

// Seconds of each of `iters` runs of `launch` (queued on `s`), after `warmup` untimed runs
// (clocks ramp up, caches and heuristics settle). `before` is queued before each run, outside
// the timed region (an L2 flush, say). Sorted ascending.
template <typename Before, typename Launch>
std::vector<double> event_times(cudaStream_t s, int warmup, int iters, Before&& before, Launch&& launch) {
  for (int i = 0; i < warmup; ++i) {
    before();
    launch();
  }
  EventTimer timer;
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    before();
    t.push_back(timer.seconds(s, launch));
  }
  std::sort(t.begin(), t.end());
  return t;
}

}  // namespace tpbench::cuda_detail
