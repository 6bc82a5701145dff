// Host memory bandwidth: read (a reduction that touches every byte once) and copy (memcpy,
// counted as read + write bytes, as STREAM counts copy). What bounds the CPU backend's
// memory-bound decode GEMMs, and the host-side analogue of the HBM read/copy benchmarks.
//
//   build/bench/bench_memory_bandwidth --benchmark_min_time=0.05s
//
// Sizes straddle the caches: 256 KiB (L2), 4 MiB (LLC on most machines), 64 MiB (DRAM).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

// Integer words: an integer sum vectorises without -ffast-math (a float sum would not, and
// would measure the adder's latency instead of the memory).
std::vector<uint64_t> filled(size_t bytes) {
  std::vector<uint64_t> v(bytes / sizeof(uint64_t));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0x9e3779b97f4a7c15ull * (i + 1);  // nonzero, written
  return v;
}

void report(benchmark::State& state, double total_s, double bytes_per_iter) {
  const double per = total_s / static_cast<double>(state.iterations());
  state.counters["GBps"] = bytes_per_iter / per / 1e9;
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iter) * state.iterations());
}

void BM_HostRead(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0));
  const auto src = filled(bytes);
  double total_s = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t a = 0, b = 0, c = 0, d = 0;  // independent chains: bound by bandwidth, not latency
    size_t i = 0;
    for (; i + 4 <= src.size(); i += 4) a += src[i], b += src[i + 1], c += src[i + 2], d += src[i + 3];
    for (; i < src.size(); ++i) a += src[i];
    uint64_t sum = a + b + c + d;
    benchmark::DoNotOptimize(sum);
    total_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  report(state, total_s, static_cast<double>(bytes));
}

void BM_HostCopy(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0));
  const auto src = filled(bytes);
  auto dst = filled(bytes);  // written once up front: no first-touch page faults in the loop
  double total_s = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
    total_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  report(state, total_s, 2.0 * static_cast<double>(bytes));
}

BENCHMARK(BM_HostRead)->Arg(256 << 10)->Arg(4 << 20)->Arg(64 << 20)->ArgName("bytes")->UseRealTime()
    ->MinTime(0.05)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HostCopy)->Arg(256 << 10)->Arg(4 << 20)->Arg(64 << 20)->ArgName("bytes")->UseRealTime()
    ->MinTime(0.05)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
