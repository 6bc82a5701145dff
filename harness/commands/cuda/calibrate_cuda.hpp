#pragma once
// The GPU side of `tpbench calibrate`: one function per measured ceiling (each in its own
// file under harness/commands/cuda/), timed with kernels/detail/event_timer.hpp. Host code compiled with
// the CUDA toolkit (tpbench_cuda); the command itself is harness/commands/calibrate_command.cpp.
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "harness/backend/cuda/device_resources.hpp"
#include "harness/commands/calibrate_command.hpp"
#include "harness/measure/stats.hpp"
#include "kernels/detail/event_timer.hpp"

namespace tpbench::calibrate {

using cuda_detail::event_times;  // kernels/detail/event_timer.hpp
inline double median(const std::vector<double>& samples) { return summarize(samples).median; }

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
