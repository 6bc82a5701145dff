// NCCL all_reduce / all_gather / reduce_scatter over all visible GPUs, 8 B to 1 GiB (x4 steps),
// BF16, out of place: time per operation from CUDA events, with algbw and busbw exactly as
// nccl-tests defines them (collectives/bandwidth.hpp). One process drives every GPU through a
// single-process clique (ncclCommInitAll); with one GPU that is a 1-rank communicator, where no
// data crosses a link (busbw 0) and the time is NCCL's local copy/launch cost: the label says so.
//
//   build/bench/bench_collectives_gpu --benchmark_out=nccl.json --benchmark_out_format=json
//
// Without a CUDA device every benchmark is skipped with "no CUDA device" and the exit code is 0.
#include <benchmark/benchmark.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "collectives/bandwidth.hpp"
#include "kernels/detail/cuda_raii.hpp"
#include "collectives/cuda/nccl_check.hpp"
#include "collectives/cuda/nccl_communicator.hpp"
#include "kernels/hold_stream.cuh"
#include "kernels/random_fill.cuh"

namespace {

using tpbench::CollectiveKind;
namespace cuda_detail = tpbench::cuda_detail;

constexpr size_t kMinBytes = 8;
constexpr size_t kMaxBytes = size_t{1} << 30;
constexpr size_t kElem = sizeof(__nv_bfloat16);

// Everything the benchmarks share, owned by main(): the clique and, per rank, a stream, two
// events and buffers sized for the largest operation.
struct Rank {
  int device = 0;
  std::unique_ptr<cuda_detail::CudaStream> stream;
  std::unique_ptr<cuda_detail::CudaEvent> start, stop;
  cuda_detail::DeviceBuffer in, out;
};

struct Context {
  std::vector<std::unique_ptr<tpbench::NcclCommunicator>> comms;
  std::vector<Rank> ranks;
  size_t max_bytes = kMaxBytes;
  int size() const { return static_cast<int>(comms.size()); }
};

// Builds the clique over all visible GPUs; returns nullptr when there is no device.
std::unique_ptr<Context> make_context() {
  if (!cuda_detail::cuda_device_available()) return nullptr;
  int gpus = 0;
  TPBENCH_CUDA_CHECK(cudaGetDeviceCount(&gpus));
  auto ctx = std::make_unique<Context>();
  std::vector<int> devices(static_cast<size_t>(gpus));
  for (int d = 0; d < gpus; ++d) devices[static_cast<size_t>(d)] = d;
  ctx->comms = tpbench::make_nccl_group(devices);
  // The largest size whose buffers (input and output, each at most `size` per rank) leave a
  // quarter of the smallest GPU's free memory to NCCL and the rest of the system.
  for (int d : devices) {
    TPBENCH_CUDA_CHECK(cudaSetDevice(d));
    size_t free_b = 0, total_b = 0;
    TPBENCH_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    while (ctx->max_bytes > kMinBytes && 2 * ctx->max_bytes > free_b * 3 / 4) ctx->max_bytes /= 2;
  }
  ctx->ranks.resize(devices.size());
  for (int d : devices) {
    Rank& r = ctx->ranks[static_cast<size_t>(d)];
    r.device = d;
    TPBENCH_CUDA_CHECK(cudaSetDevice(d));
    r.stream = std::make_unique<cuda_detail::CudaStream>();
    r.start = std::make_unique<cuda_detail::CudaEvent>();
    r.stop = std::make_unique<cuda_detail::CudaEvent>();
    r.in = cuda_detail::DeviceBuffer(ctx->max_bytes);
    r.out = cuda_detail::DeviceBuffer(ctx->max_bytes);
    // Random values in [1, 2]: never zero, and sums of a few ranks stay far from overflow.
    const int64_t n = static_cast<int64_t>(ctx->max_bytes / kElem);
    TPBENCH_CUDA_CHECK(tpbench::kernels::random_fill_bf16(r.in.get<__nv_bfloat16>(), n, 0x6e63636c, static_cast<uint64_t>(d),
                                                      0.5f, 1.5f, r.stream->get()));
    TPBENCH_CUDA_CHECK(tpbench::kernels::random_fill_bf16(r.out.get<__nv_bfloat16>(), n, 0x6f7574, static_cast<uint64_t>(d),
                                                      0.5f, 1.5f, r.stream->get()));
    TPBENCH_CUDA_CHECK(cudaStreamSynchronize(r.stream->get()));
  }
  return ctx;
}

// One operation on every rank: one thread drives all communicators, so the calls are grouped.
void launch(Context& ctx, CollectiveKind op, size_t count) {
  tpbench::detail::NcclGroup group;
  for (int r = 0; r < ctx.size(); ++r) {
    Rank& k = ctx.ranks[static_cast<size_t>(r)];
    tpbench::NcclCommunicator& c = *ctx.comms[static_cast<size_t>(r)];
    c.run(op, k.in.get(), k.out.get(), count, tpbench::ElemType::BF16, k.stream->get());
  }
  group.end();
}

void run_benchmark(benchmark::State& state, Context* ctx, CollectiveKind op, size_t size) {
  if (ctx == nullptr) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const int n = ctx->size();
  const size_t count = std::max<size_t>(1, tpbench::collective_count_for_size(op, size, kElem, n));
  const size_t actual = tpbench::collective_size_bytes(op, count, kElem, n);
  if (actual > ctx->max_bytes) {
    state.SkipWithError("not enough GPU memory for this size");
    return;
  }
  // Several operations per timed iteration: a small collective takes microseconds, less than
  // the event resolution and the launch skew between ranks.
  const int reps = static_cast<int>(std::clamp<size_t>((size_t{64} << 20) / actual, 1, 100));
  // Warm-up: connections, buffers and clocks settle outside the timing.
  for (int i = 0; i < 5; ++i) launch(*ctx, op, count);
  for (Rank& r : ctx->ranks) TPBENCH_CUDA_CHECK(cudaStreamSynchronize(r.stream->get()));
  // Each GPU holds its stream while the host enqueues the operations (one thread launches every
  // rank's share, tens of microseconds a grouped launch), then an untimed operation releases
  // the ranks together: what is timed is the GPUs' work, without launch gaps or rank skew.
  const double hold_s = std::min(5e-3, tpbench::kernels::kLaunchHoldS + 20e-6 * reps * n);
  double total_s = 0;
  int64_t ops = 0;
  for (auto _ : state) {
    for (Rank& r : ctx->ranks) {
      TPBENCH_CUDA_CHECK(cudaSetDevice(r.device));
      TPBENCH_CUDA_CHECK(tpbench::kernels::hold_stream(hold_s, r.stream->get()));
    }
    launch(*ctx, op, count);  // untimed: the ranks leave it together
    for (Rank& r : ctx->ranks) TPBENCH_CUDA_CHECK(cudaEventRecord(r.start->get(), r.stream->get()));
    for (int i = 0; i < reps; ++i) launch(*ctx, op, count);
    for (Rank& r : ctx->ranks) TPBENCH_CUDA_CHECK(cudaEventRecord(r.stop->get(), r.stream->get()));
    double seconds = 0;  // the slowest rank's time
    for (Rank& r : ctx->ranks) {
      TPBENCH_CUDA_CHECK(cudaEventSynchronize(r.stop->get()));
      float ms = 0;
      TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, r.start->get(), r.stop->get()));
      seconds = std::max(seconds, ms / 1e3);
    }
    // The time of the iteration's `reps` operations (what Google Benchmark sizes its iteration
    // count by); the per-operation figure is the time_us counter.
    state.SetIterationTime(seconds);
    total_s += seconds;
    ops += reps;
  }
  const double per_op = total_s / static_cast<double>(std::max<int64_t>(ops, 1));
  std::string label = std::string(tpbench::collective_name(op)) + " bf16 x" + std::to_string(n) + " GPU";
  label += n == 1 ? " (1-rank communicator: nothing crosses a link, busbw 0)" : "s";
  state.SetLabel(label);
  state.counters["size_bytes"] = static_cast<double>(actual);
  state.counters["time_us"] = per_op * 1e6;
  if (per_op > 0) {
    state.counters["algbw_GBps"] = tpbench::algbw(actual, per_op) / 1e9;
    state.counters["busbw_GBps"] = tpbench::busbw(op, actual, per_op, n) / 1e9;
  }
}

// A failed CUDA/NCCL call ends this benchmark with its message, not the whole binary.
void BM_Nccl(benchmark::State& state, Context* ctx, CollectiveKind op, size_t size) {
  try {
    run_benchmark(state, ctx, op, size);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::unique_ptr<Context> ctx;
  try {
    ctx = make_context();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_collectives_gpu: error: %s\n", e.what());
    return 1;
  }
  std::vector<size_t> sizes;
  for (size_t s = kMinBytes; s < kMaxBytes; s *= 4) sizes.push_back(s);
  sizes.push_back(kMaxBytes);
  for (const tpbench::CollectiveTraits& kind : tpbench::all_collective_traits()) {
    const CollectiveKind op = kind.kind;
    for (size_t size : sizes) {
      const std::string name = std::string("BM_Nccl/") + tpbench::collective_name(op) + "/" + std::to_string(size);
      Context* c = ctx.get();
      benchmark::RegisterBenchmark(name.c_str(), [c, op, size](benchmark::State& st) { BM_Nccl(st, c, op, size); })
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;  // ctx (buffers, then the communicators) is released here, before CUDA shuts down
}
