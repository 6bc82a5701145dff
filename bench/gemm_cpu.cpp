// OpenBLAS SGEMM over the GEMM shapes of a Llama decode/prefill step: the CPU backend's GEMM
// cost, with achieved GFLOP/s and GB/s. Llama-3.1-8B's per-layer shapes (hidden 4096,
// intermediate 14336, 32 query / 8 KV heads of 128) are scaled down 4x in every weight
// dimension so a CI machine finishes in seconds; the aspect ratios, and so the decode
// (memory-bound, M small) versus prefill (compute-bound, M large) contrast, are kept.
//
//   build/bench/bench_gemm_cpu --benchmark_min_time=0.05s
//
// y[M, N] = x[M, K] * W[K, N], row-major, as the plans define their GEMMs.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

constexpr int64_t kScale = 4;
constexpr int64_t kHidden = 4096 / kScale;
constexpr int64_t kInter = 14336 / kScale;
constexpr int64_t kQkv = (32 + 2 * 8) * 128 / kScale;  // q + k + v columns

enum Weight : int64_t { Qkv, O, GateUp, Down };
const char* kWeightName[] = {"qkv", "o", "gate_up", "down"};

void shape(int64_t w, int64_t* n, int64_t* k) {
  switch (w) {
    case Qkv: *k = kHidden, *n = kQkv; return;
    case O: *k = kHidden, *n = kHidden; return;
    case GateUp: *k = kHidden, *n = 2 * kInter; return;
    default: *k = kInter, *n = kHidden; return;
  }
}

void BM_Sgemm(benchmark::State& state) {
  const int64_t m = state.range(0);
  int64_t n = 0, k = 0;
  shape(state.range(1), &n, &k);
  // Nonzero inputs, all written before the first read.
  std::vector<float> x(static_cast<size_t>(m * k)), w(static_cast<size_t>(k * n)), y(static_cast<size_t>(m * n));
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.5f + static_cast<float>(i % 13) * 0.01f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.25f - static_cast<float>(i % 17) * 0.01f + 0.005f;
  double total_s = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, x.data(), static_cast<int>(k), w.data(), static_cast<int>(n),
                0.0f, y.data(), static_cast<int>(n));
    total_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  // Wall-clock rates computed here: OpenBLAS runs its own threads, so the benchmark
  // library's CPU-time-based rates would be wrong.
  const double per = total_s / static_cast<double>(state.iterations());
  const double flops = 2.0 * m * n * k;
  const double bytes = 4.0 * (m * k + k * n + m * n);  // ideal traffic: each matrix once
  state.SetLabel(std::string(kWeightName[state.range(1)]) + (m <= 64 ? " decode" : " prefill"));
  state.counters["GFLOPs"] = flops / per / 1e9;
  state.counters["GBps"] = bytes / per / 1e9;
  state.counters["flop_per_byte"] = flops / bytes;
}

void Args(benchmark::internal::Benchmark* b) {
  for (int64_t m : {1, 8, 32, 512})  // decode batches 1, 8, 32; a 512-token prefill chunk
    for (int64_t w = Qkv; w <= Down; ++w) b->Args({m, w});
}

BENCHMARK(BM_Sgemm)->Apply(Args)->ArgNames({"m", "weight"})->UseRealTime()->MinTime(0.05)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
