// `tpbench recommend` over the llm-d study's space: Llama-3.1-70B on 16 H100s (h100-sxm profile),
// ISL 10000 / OSL 1000, every aggregated and PD layout of 16 GPUs, concurrency searched up to 256,
// on one core (jobs = 1). Issue target: under 10 s per search (printed as search_s, not asserted:
// speed targets live in benchmarks). range(0): 0 = no targets (each layout's doubling grid, up to
// where its KV is full),
// 1 = TTFT <= 10 s and TPOT <= 30 ms (the grid plus a bisection per layout).
//
//   build/bench/bench_recommend_search
#include <benchmark/benchmark.h>

#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/recommend/recommend.hpp"

namespace {

void BM_RecommendLlmdSpace(benchmark::State& state) {
  const tpbench::ModelSpec m = tpbench::preset_model("llama-3.1-70b");
  const tpbench::SystemProfile prof = tpbench::builtin_profile("h100-sxm");
  tpbench::RecommendSpec s;
  s.gpus = 16;
  s.nvlink_domain = 8;
  s.max_concurrency = 256;
  s.jobs = 1;
  if (state.range(0) == 1) {
    s.targets.ttft_s = 10.0;
    s.targets.tpot_s = 0.030;
  }
  size_t layouts = 0, points = 0;
  for (auto _ : state) {
    const tpbench::Recommendation r = tpbench::recommend(m, prof, tpbench::PerfParams{}, s);
    layouts = r.layouts.size();
    points = 0;
    for (const auto& l : r.layouts) points += l.search.points.size();
    benchmark::DoNotOptimize(r.winner);
  }
  state.counters["layouts"] = double(layouts);
  state.counters["points"] = double(points);
  state.counters["search_s"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate |
                                                                                 benchmark::Counter::kInvert);
}
BENCHMARK(BM_RecommendLlmdSpace)->Arg(0)->Arg(1)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
