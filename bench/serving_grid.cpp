// The serving simulator over the whole llm-d grid (19 configurations x 6 concurrencies of
// Llama-3.1-70B on the H100 profile, ISL 10000 / OSL 1000), on one core. Issue target: well under
// a second per grid (printed as grid_s, not asserted: speed targets live in benchmarks).
//
//   build/bench/bench_serving_grid --benchmark_min_time=2s
#include <benchmark/benchmark.h>

#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/sim/grid.hpp"
#include "harness/sim/layout.hpp"

namespace {

tpbench::GridSpec llmd_grid(bool aggregated, bool pd) {
  tpbench::GridSpec g;
  if (aggregated)
    for (const char* l : {"1R-TP2", "2R-TP2", "3R-TP2", "4R-TP2", "5R-TP2", "6R-TP2", "7R-TP2", "8R-TP2", "1R-TP4",
                          "2R-TP4", "3R-TP4", "4R-TP4", "1R-TP8", "2R-TP8"})
      g.layouts.push_back(tpbench::parse_layout(l));
  if (pd)
    for (const char* l : {"1P-TP4 3D-TP4", "1P-TP8 1D-TP8", "2P-TP4 1D-TP8", "2P-TP4 2D-TP4", "3P-TP4 1D-TP4"})
      g.layouts.push_back(tpbench::parse_layout(l));
  g.concurrency = {1, 8, 32, 64, 128, 256};
  return g;
}

// range(0): 0 = the whole grid, 1 = aggregated configurations only, 2 = PD only.
void BM_LlmdGrid(benchmark::State& state) {
  const int which = int(state.range(0));
  const tpbench::GridSpec g = llmd_grid(which != 2, which != 1);
  const tpbench::ModelSpec m = tpbench::preset_model("llama-3.1-70b");
  const tpbench::SystemProfile prof = tpbench::builtin_profile("h100-sxm");
  size_t points = 0;
  for (auto _ : state) {
    const auto pts = tpbench::simulate_grid(g, m, prof, tpbench::PerfParams{});
    points = pts.size();
    benchmark::DoNotOptimize(pts.data());
  }
  state.counters["points"] = double(points);
  state.counters["grid_s"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate |
                                                                              benchmark::Counter::kInvert);
}
BENCHMARK(BM_LlmdGrid)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
