// `tpbench calibrate` on the GPU: device discovery, memory and HBM bandwidth here; GEMM,
// attention and collectives in the files beside this one. Every measurement uses random
// inputs (never zeros), warm-up, CUDA-event timing and checked calls.
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "harness/commands/calibrate_command.hpp"
#include "harness/commands/cuda/calibrate_cuda.hpp"
#include "harness/backend/cuda/nvml_probe.hpp"
#include "harness/common/error.hpp"
#include "kernels/random_fill.cuh"
#include "kernels/stream_read.cuh"

namespace tpbench {
namespace calibrate {

size_t free_device_bytes() {
  size_t free_b = 0, total_b = 0;
  TPBENCH_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return free_b;
}

void measure_hbm(const CalibrateRequest& req, CalibrateMeasurements& m) {
  // The copy needs two buffers: together at most half of what is free, each a multiple of
  // 16 bytes; far above the L2 (50 MB on H100) in any case, so no flush is needed.
  const size_t cap = free_device_bytes() / 4;
  const size_t bytes = std::min(req.hbm_bytes, cap) / 16 * 16;
  if (bytes < (size_t(256) << 20)) throw UnavailableError("calibrate: less than 1 GiB of free device memory");
  cuda::Stream s;
  cuda::DeviceBuffer src(bytes), dst(bytes), sink(sizeof(uint32_t));
  TPBENCH_CUDA_CHECK(kernels::random_fill_bf16(src.get<__nv_bfloat16>(), int64_t(bytes / 2), 0x68626d, 1, 1.0f, 0.0f,
                                               s.get()));
  TPBENCH_CUDA_CHECK(cudaMemsetAsync(dst.get(), 0x5a, bytes, s.get()));  // written before any read of it
  TPBENCH_CUDA_CHECK(cudaMemsetAsync(sink.get(), 0, sizeof(uint32_t), s.get()));
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(s.get()));
  auto none = [] {};
  const auto read = event_times(s.get(), req.warmup, req.iters, none, [&] {
    TPBENCH_CUDA_CHECK(kernels::stream_read(src.get(), bytes, sink.get<uint32_t>(), s.get()));
  });
  const auto copy = event_times(s.get(), req.warmup, req.iters, none, [&] {
    TPBENCH_CUDA_CHECK(kernels::stream_copy(src.get(), dst.get(), bytes, s.get()));
  });
  m.hbm_bytes = double(bytes);
  m.hbm_read_bps = double(bytes) / median(read);
  m.hbm_copy_bps = 2.0 * double(bytes) / median(copy);  // read + write
}

namespace {

std::vector<int> select_devices(const CalibrateRequest& req) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // consumed, so later calls do not report it again
    throw UnavailableError(std::string("calibrate: no usable CUDA device (") + cudaGetErrorString(e) + ")");
  }
  if (n <= 0) throw UnavailableError("calibrate: no usable CUDA device (0 devices)");
  std::vector<int> devices = req.gpus;
  if (devices.empty())
    for (int d = 0; d < n; ++d) devices.push_back(d);
  for (int d : devices)
    if (d >= n)
      throw UsageError("--gpus: device " + std::to_string(d) + " is not visible (" + std::to_string(n) +
                       " CUDA device" + (n == 1 ? "" : "s") + ")");
  return devices;
}

// Clocks, temperature and throttle state of `device` into m.telemetry (nothing without NVML):
// a ceiling measured while the GPU throttled is not the card's ceiling, and says so.
void record_telemetry(const cuda::NvmlProbe& nvml, int device, const char* section, const char* when,
                      CalibrateMeasurements& m, std::ostream& progress) {
  char bus[32] = {};
  if (!nvml.available() || cudaDeviceGetPCIBusId(bus, sizeof bus, device) != cudaSuccess) return;
  const auto s = nvml.sample(bus);
  if (!s) return;
  if (m.telemetry.is_null()) m.telemetry = nlohmann::json::array();
  const bool hot = cuda::throttled(s->throttle_reasons);
  m.telemetry.push_back({{"section", section}, {"when", when}, {"gpu", device}, {"sm_mhz", s->sm_clock_mhz},
                         {"mem_mhz", s->mem_clock_mhz}, {"temperature_c", s->temperature_c}, {"throttled", hot},
                         {"power_capped", cuda::power_capped(s->throttle_reasons)}});
  if (hot) progress << "calibrate: warning: GPU " << device << " throttled (thermal/HW slowdown) " << when << " " << section << "\n";
}

// Runs one section and prints how long it took (a calibration takes a while).
template <typename F>
void section(std::ostream& progress, const char* what, F&& f, const cuda::NvmlProbe& nvml, int device,
             CalibrateMeasurements& m) {
  const auto t0 = std::chrono::steady_clock::now();
  record_telemetry(nvml, device, what, "before", m, progress);
  progress << "calibrate: " << what << " ..." << std::flush;
  f();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, " %.1f s\n", s);
  progress << buf << std::flush;
  record_telemetry(nvml, device, what, "after", m, progress);  // its warning on a line of its own
}

}  // namespace
}  // namespace calibrate

CalibrateMeasurements run_calibrate_cuda(const CalibrateRequest& req, std::ostream& progress) {
  const std::vector<int> devices = calibrate::select_devices(req);
  CalibrateMeasurements m;
  m.gpu_count = int(devices.size());
  const cuda::NvmlProbe nvml;
  {
    // Single-GPU ceilings on the first selected device (the GPUs of one node are identical).
    cuda::DeviceScope scope(devices.front());
    cudaDeviceProp prop{};
    TPBENCH_CUDA_CHECK(cudaGetDeviceProperties(&prop, devices.front()));
    m.gpu_name = prop.name;
    size_t free_b = 0, total_b = 0;
    TPBENCH_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    m.memory_bytes = double(total_b);
    progress << "calibrate: " << devices.size() << " x " << m.gpu_name << ", GPU " << devices.front() << " for the "
             << "single-GPU ceilings\n";
    calibrate::section(progress, "HBM read/copy bandwidth", [&] { calibrate::measure_hbm(req, m); }, nvml,
                       devices.front(), m);
    calibrate::section(progress, "GEMM efficiency (Llama-3.1-70B TP 1/4/8 shapes)", [&] { calibrate::measure_gemm(req, m); },
                       nvml, devices.front(), m);
    calibrate::section(progress, "decode attention", [&] { calibrate::measure_attention(req, m); }, nvml,
                       devices.front(), m);
  }
  calibrate::section(progress, "collectives", [&] { calibrate::measure_collectives(req, devices, m); }, nvml,
                     devices.front(), m);
  return m;
}

}  // namespace tpbench
