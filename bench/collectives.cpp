// In-process collectives (the CPU backend's communicator): time per operation with algbw and
// busbw exactly as nccl-tests defines them. The numbers describe host threads and memory, not
// a GPU fabric; they show the CPU backend's cost and keep the busbw path exercised in CI.
//
//   build/bench/bench_collectives --benchmark_min_time=0.05s --benchmark_out=coll.json
//
// Arguments: op (0 all_reduce, 1 all_gather, 2 reduce_scatter), ranks, nccl-tests size in bytes.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "collectives/bandwidth.hpp"
#include "collectives/inprocess_communicator.hpp"

namespace {

using tpbench::CollectiveKind;

void BM_InProcessCollective(benchmark::State& state) {
  const auto op = static_cast<CollectiveKind>(state.range(0));
  const int ranks = static_cast<int>(state.range(1));
  const size_t size = static_cast<size_t>(state.range(2));
  const size_t count = std::max<size_t>(1, tpbench::collective_count_for_size(op, size, sizeof(float), ranks));
  const size_t actual = tpbench::collective_size_bytes(op, count, sizeof(float), ranks);
  const size_t in_elems = tpbench::collective_traits(op).input_elems(count, ranks);
  const size_t out_elems = tpbench::collective_traits(op).output_elems(count, ranks);
  // Several collectives per benchmark iteration: starting the rank threads costs tens of
  // microseconds, more than a small collective, and must stay outside the measured time.
  const int reps = static_cast<int>(std::clamp<size_t>((8u << 20) / actual, 1, 200));

  // Nonzero inputs, written before the timed loop (inputs are never zeros, never unwritten).
  std::vector<std::vector<float>> in(ranks, std::vector<float>(in_elems)), out(ranks, std::vector<float>(out_elems));
  for (int r = 0; r < ranks; ++r)
    for (size_t i = 0; i < in_elems; ++i) in[r][i] = static_cast<float>(1 + (r + i) % 7);

  tpbench::InProcessGroup group(ranks);
  double total_s = 0;
  int64_t ops = 0;
  for (auto _ : state) {
    double seconds = 0;
    group.run([&](tpbench::InProcessCommunicator& comm) {
      const int r = comm.rank();
      float* send = in[r].data();
      float* recv = out[r].data();
      comm.barrier();  // all ranks started: the clock measures collectives, not thread start-up
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < reps; ++i) {
        comm.run(op, send, recv, count, tpbench::ElemType::F32);
      }
      comm.barrier();  // the slowest rank is done
      if (r == 0) seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
    benchmark::DoNotOptimize(out[0].data());
    state.SetIterationTime(seconds);
    total_s += seconds;
    ops += reps;
  }
  const double per_op = total_s / static_cast<double>(std::max<int64_t>(ops, 1));
  state.SetLabel(std::string(tpbench::collective_name(op)) + " x" + std::to_string(ranks));
  state.counters["size_bytes"] = static_cast<double>(actual);
  state.counters["time_us"] = per_op * 1e6;
  if (per_op > 0) {
    state.counters["algbw_GBps"] = tpbench::algbw(actual, per_op) / 1e9;
    state.counters["busbw_GBps"] = tpbench::busbw(op, actual, per_op, ranks) / 1e9;
  }
}

void Args(benchmark::internal::Benchmark* b) {
  for (int op = 0; op < int(tpbench::kCollectiveKinds); ++op)
    for (int ranks : {2, 4, 8})
      for (int64_t size : {int64_t{1} << 10, int64_t{64} << 10, int64_t{1} << 20, int64_t{4} << 20})
        b->Args({op, ranks, size});
}

BENCHMARK(BM_InProcessCollective)
    ->Apply(Args)
    ->ArgNames({"op", "ranks", "bytes"})
    ->UseManualTime()
    ->MinTime(0.05)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
