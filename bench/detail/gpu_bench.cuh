#pragma once
// Shared pieces of the GPU micro-benchmarks (bench/*.cu): device detection, launching the HBM
// read/copy kernels (the ceiling every other benchmark is compared with), a checked cuBLAS handle, and the
// timing loop (CUDA events, manual time, warm-up, L2 flushed before every timed iteration).
// Each bench/<name>.cu is its own executable, so the kernels defined here are not duplicated
// within one program.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/detail/cublas_check.hpp"
#include "kernels/detail/cuda_check.hpp"
#include "kernels/detail/cuda_raii.hpp"
#include "kernels/detail/event_timer.hpp"
#include "kernels/l2_flush.cuh"
#include "kernels/random_fill.cuh"
#include "kernels/stream_read.cuh"

namespace tpbench::bench {

using cuda_detail::CudaEvent;
using cuda_detail::CudaStream;
using cuda_detail::DeviceBuffer;

// TPBENCH_CUBLAS_CHECK comes from kernels/detail/cublas_check.hpp.

class CublasHandle {
 public:
  CublasHandle() { TPBENCH_CUBLAS_CHECK(cublasCreate(&h_)); }
  ~CublasHandle() { if (h_) cublasDestroy(h_); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
};

// The HBM read/copy kernels live in kernels/stream_read.cuh (shared with `tpbench calibrate`).
inline void launch_read(const DeviceBuffer& src, uint32_t* sink, cudaStream_t s) {
  TPBENCH_CUDA_CHECK(kernels::stream_read(src.get(), src.bytes(), sink, s));
}
inline void launch_copy(const DeviceBuffer& src, DeviceBuffer& dst, cudaStream_t s) {
  TPBENCH_CUDA_CHECK(kernels::stream_copy(src.get(), dst.get(), src.bytes(), s));
}

// Random BF16 (never zero) over a whole buffer.
inline void fill_random(DeviceBuffer& b, uint64_t stream_id, cudaStream_t s) {
  TPBENCH_CUDA_CHECK(kernels::random_fill_bf16(b.get<__nv_bfloat16>(), int64_t(b.bytes() / 2), 2024, stream_id,
                                                1.0f, 0.0f, s));
}

// Times `launch` (queued on `s`) once per benchmark iteration with CUDA events; the L2 is flushed
// before each iteration, outside the timed region, so every byte comes from HBM. Warm-up first.
// Returns the total timed seconds (for rates computed without Google Benchmark's CPU-time rates).
template <typename Launch>
double time_iterations(benchmark::State& state, cudaStream_t s, kernels::L2Flush& flush, Launch&& launch,
                       int warmup = 3) {
  for (int i = 0; i < warmup; ++i) launch();
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(s));
  cuda_detail::EventTimer timer;
  double total = 0;
  for (auto _ : state) {
    flush.flush(s);
    const double t = timer.seconds(s, launch);
    state.SetIterationTime(t);
    total += t;
  }
  return total;
}

// The HBM read ceiling of this device, measured once at start-up: median of 9 timed reads of a
// 1 GiB buffer (far above any L2). 0 when there is no device.
inline double measure_hbm_read_bytes_per_s() {
  if (!cuda_detail::cuda_device_available()) return 0.0;
  CudaStream s;
  DeviceBuffer src(size_t(1) << 30), sink(sizeof(uint32_t));
  fill_random(src, 1, s.get());
  CudaEvent start, stop;
  std::vector<double> bw;
  for (int i = 0; i < 12; ++i) {
    TPBENCH_CUDA_CHECK(cudaEventRecord(start.get(), s.get()));
    launch_read(src, sink.get<uint32_t>(), s.get());
    TPBENCH_CUDA_CHECK(cudaEventRecord(stop.get(), s.get()));
    TPBENCH_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    float ms = 0;
    TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    if (i >= 3) bw.push_back(double(src.bytes()) / (double(ms) * 1e-3));  // first 3: warm-up
  }
  std::sort(bw.begin(), bw.end());
  return bw[bw.size() / 2];
}

// Rates from manual time (Google Benchmark's kIsRate would divide by CPU time).
inline void set_bandwidth_counters(benchmark::State& state, double bytes_per_iter, double flops_per_iter,
                                   double seconds, double hbm_read_bytes_per_s) {
  const double iters = double(state.iterations());
  if (seconds <= 0 || iters <= 0) return;
  const double bps = bytes_per_iter * iters / seconds;
  state.counters["bytes"] = bytes_per_iter;
  state.counters["TB_per_s"] = bps * 1e-12;
  if (flops_per_iter > 0) state.counters["TFLOP_per_s"] = flops_per_iter * iters / seconds * 1e-12;
  if (hbm_read_bytes_per_s > 0) state.counters["hbm_read_ratio"] = bps / hbm_read_bytes_per_s;
}

// Every benchmark starts with this: no device -> skipped, and the binary still exits 0.
inline bool skip_without_gpu(benchmark::State& state) {
  if (cuda_detail::cuda_device_available()) return false;
  state.SkipWithError("no CUDA device");
  return true;
}

// The body of every GPU benchmark: skipped without a device; a CUDA/cuBLAS error (an allocation
// that does not fit, say) skips that benchmark with the message instead of ending the binary.
template <typename Body>
void run_guarded(benchmark::State& state, Body&& body) {
  if (skip_without_gpu(state)) return;
  try {
    body();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// main() of a GPU benchmark binary: measures the HBM read ceiling once (0 without a device, so
// every benchmark can still register and skip), registers the benchmarks against it, runs them.
template <typename Register>
int gpu_bench_main(int argc, char** argv, Register&& register_all) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  double hbm_bps = 0;
  try {
    hbm_bps = measure_hbm_read_bytes_per_s();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "HBM read bandwidth not measured: %s\n", e.what());
  }
  register_all(hbm_bps);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace tpbench::bench
