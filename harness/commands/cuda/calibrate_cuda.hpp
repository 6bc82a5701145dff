#pragma once
// The GPU side of `tpbench calibrate`: one function per measured ceiling (each in its own
// file under harness/commands/cuda/) and the event timer they share. Host code compiled with
// the CUDA toolkit (tpbench_cuda); the command itself is harness/commands/calibrate_command.cpp.
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "harness/backend/cuda/device_resources.hpp"
#include "harness/commands/calibrate_command.hpp"

namespace tpbench::calibrate {

// Seconds of each of `iters` runs of `launch` (queued on `s`), timed by CUDA events, after
// `warmup` untimed runs (clocks ramp up, caches and heuristics settle). `before` is queued
// before each run, outside the timed region (an L2 flush). Sorted ascending.
template <typename Before, typename Launch>
std::vector<double> event_times(cudaStream_t s, int warmup, int iters, Before&& before, Launch&& launch) {
  for (int i = 0; i < warmup; ++i) {
    before();
    launch();
  }
  cuda::Event start(true), stop(true);
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    before();
    TPBENCH_CUDA_CHECK(cudaEventRecord(start.get(), s));
    launch();
    TPBENCH_CUDA_CHECK(cudaEventRecord(stop.get(), s));
    TPBENCH_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    float ms = 0;
    TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    t.push_back(double(ms) * 1e-3);
  }
  std::sort(t.begin(), t.end());
  return t;
}

inline double median(const std::vector<double>& sorted) { return sorted.empty() ? 0 : sorted[sorted.size() / 2]; }

// Each runs on the current device and fills its part of `m`.
void measure_hbm(const CalibrateRequest& req, CalibrateMeasurements& m);
void measure_gemm(const CalibrateRequest& req, CalibrateMeasurements& m);
void measure_attention(const CalibrateRequest& req, CalibrateMeasurements& m);
// NCCL groups of 2, 4 and 8 of `devices` (those that fit); sets m.collective_note when a
// group size cannot be measured.
void measure_collectives(const CalibrateRequest& req, const std::vector<int>& devices, CalibrateMeasurements& m);

// Free bytes on the current device.
size_t free_device_bytes();

}  // namespace tpbench::calibrate
