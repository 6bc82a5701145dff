#pragma once
// `tpbench collective`: an nccl-tests-style sweep of one collective over message sizes, with
// exact correctness checks, on the in-process communicator (cpu) or NCCL (cuda).
//
// The command (validation, size list, table, JSON) is backend-independent; a backend only
// measures a list of per-rank counts and reports (time, wrong elements) per count. Inputs are
// integer-valued floats from collective_input(), so every reduction is exact in any order and
// a result is right only if it is bit-identical to collective_expected().
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "collectives/bandwidth.hpp"
#include "kernels/detail/counter_rng.hpp"

namespace tpbench {

struct CollectiveOptions {
  std::string op = "all_reduce";  // all_reduce | all_gather | reduce_scatter
  int ranks = 2;
  int64_t min_bytes = 8;          // nccl-tests sizes (see collectives/bandwidth.hpp)
  int64_t max_bytes = 1 << 20;
  double step_factor = 2;         // next size = size * step_factor (nccl-tests -f)
  int iters = 20;                 // timed iterations per size
  int warmup = 5;                 // untimed iterations per size, before the timed ones
  std::string backend = "cpu";    // cpu | cuda
  std::string json;               // output file; empty: none
  uint64_t seed = 0x636f6c6c;     // "coll"
  std::vector<int> gpus;          // cuda: GPUs to place ranks on; empty = all visible
};

// Validates (UsageError), measures, prints the table to `out`, writes the JSON. Returns 0, or
// 1 when any result was wrong (the JSON is still written, with the wrong counts).
int run_collective(const CollectiveOptions& opt, std::ostream& out);

// ---- backend interface ------------------------------------------------------------------

struct CollectiveRequest {
  CollectiveKind op = CollectiveKind::AllReduce;
  int ranks = 2;
  std::vector<size_t> counts;  // per-rank count argument of the collective, one per size
  int iters = 20, warmup = 5;
  uint64_t seed = 0;
  // cuda: the GPUs to place ranks on (rank i on devices[i % size]); empty = 0..visible-1.
  std::vector<int> devices;
};

struct CollectiveTiming {
  double time_s = 0;   // mean time of one collective (out of place), as seen by rank 0
  int64_t wrong = 0;   // elements, summed over all ranks, that differ from the expected result
};

// Called once per count, in order, as soon as it is measured (so the table grows live).
using CollectiveSink = std::function<void(size_t index, const CollectiveTiming&)>;

// In-process communicator, one thread per rank.
void run_collective_cpu(const CollectiveRequest& req, const CollectiveSink& sink);
// NCCL, one GPU per rank (harness/commands/cuda/collective_cuda.cpp). Throws UnavailableError
// ("--backend cuda: no usable CUDA device ...") without a GPU, and in a build without CUDA.
void run_collective_cuda(const CollectiveRequest& req, const CollectiveSink& sink);

// ---- inputs and expected results, shared by the backends ----------------------------------

// Rank `rank`'s input element i: a nonzero integer in [-8, 8] as a float. Sums of up to 2^20
// of them are exact in float, so the order of additions cannot change a correct result.
inline float collective_input(uint64_t seed, int rank, size_t i) {
  const int64_t v = static_cast<int64_t>(rng::hash3(seed, static_cast<uint64_t>(rank), i) % 16) - 8;
  return static_cast<float>(v >= 0 ? v + 1 : v);
}

// Elements of one rank's input and output buffers for `count` (the per-rank count argument).
size_t collective_input_elems(CollectiveKind op, int ranks, size_t count);
size_t collective_output_elems(CollectiveKind op, int ranks, size_t count);

// Computed from collective_input() in integer arithmetic, independently of any communicator:
// all_reduce: the result every rank holds (count); all_gather: the result every rank holds
// (ranks * count); reduce_scatter: the ranks' results concatenated (ranks * count).
std::vector<float> collective_expected(CollectiveKind op, int ranks, size_t count, uint64_t seed);

// Elements of `rank`'s output (collective_output_elems long) that differ from `expected`.
int64_t collective_wrong(CollectiveKind op, int rank, size_t count,
                         const std::vector<float>& expected, const float* output);

}  // namespace tpbench
