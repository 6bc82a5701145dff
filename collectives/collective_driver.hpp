#pragma once
// The collective driver: one collective of any kind measured over a list of per-rank counts on
// the in-process communicator (cpu) or NCCL (cuda), each result checked exactly. Inputs are
// integer-valued floats from collective_input(), so every reduction is exact in any order and
// a result is right only if it is bit-identical to collective_expected(). What differs between
// kinds comes from their CollectiveTraits. Used by `tpbench collective` and by the sweep's
// collective check.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "collectives/collective_kind.hpp"
#include "kernels/detail/counter_rng.hpp"

namespace tpbench {

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
// NCCL, one GPU per rank (collectives/cuda/collective_driver_cuda.cpp). Throws UnavailableError
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
// the result every rank holds when all hold the same (all_reduce: count elements, all_gather:
// ranks * count), else the ranks' results concatenated in rank order (reduce_scatter: ranks *
// count; all_to_all: ranks * ranks * count, rank r's part p being part r of rank p's input).
size_t collective_expected_elems(CollectiveKind op, int ranks, size_t count);
std::vector<float> collective_expected(CollectiveKind op, int ranks, size_t count, uint64_t seed);

// Elements of `rank`'s output (collective_output_elems long) that differ from its result in
// `expected` (as collective_expected returns it for `ranks` and `count`).
int64_t collective_wrong(CollectiveKind op, int rank, int ranks, size_t count,
                         const std::vector<float>& expected, const float* output);

}  // namespace tpbench
