#pragma once
// The collectives of tensor parallelism, shared by plans, the communicators, the bandwidth
// arithmetic, the collective test driver and the performance model's time tables.
//
// Everything that differs between kinds lives in one CollectiveTraits entry per kind, so code
// that sizes buffers, converts sizes, checks results or prices a collective asks the traits
// instead of branching on the kind, and a new kind is one new entry (plus the `switch`es the
// compiler then flags, -Werror=switch).
#include <array>
#include <cstddef>
#include <string>

namespace tpbench {

enum class CollectiveKind { AllReduce, AllGather, ReduceScatter };

struct CollectiveTraits {
  CollectiveKind kind;
  const char* name;     // "all_reduce": tables, JSON, profiles, the CLI
  const char* compact;  // "allreduce": also accepted on input
  // Buffers, in units of the count argument each rank passes to NCCL: 1 part, or one part per
  // rank of the group (all_gather's output, reduce_scatter's input).
  bool input_has_rank_parts;
  bool output_has_rank_parts;
  // The result sums the ranks' inputs element by element (else each rank's part is copied).
  bool reduces;
  // A bandwidth-optimal ring moves (n - 1)/n of the nccl-tests size per rank this many times:
  // all-reduce is a reduce-scatter then an all-gather.
  int ring_passes;
  const char* nccl_tests_redop;  // what nccl-tests prints in its "redop" column

  size_t input_elems(size_t count, int ranks) const { return input_has_rank_parts ? count * size_t(ranks) : count; }
  size_t output_elems(size_t count, int ranks) const { return output_has_rank_parts ? count * size_t(ranks) : count; }
  // nccl-tests' "size" in elements: the larger of the two buffers.
  size_t size_elems(size_t count, int ranks) const {
    return input_elems(count, ranks) > output_elems(count, ranks) ? input_elems(count, ranks) : output_elems(count, ranks);
  }
  // Elements per count argument in that size (1, or the group size).
  size_t size_parts(int ranks) const { return (input_has_rank_parts || output_has_rank_parts) ? size_t(ranks) : 1; }
  // The count argument for buffers of in_count and out_count elements (the smaller one).
  size_t count_argument(size_t in_count, size_t out_count) const { return in_count < out_count ? in_count : out_count; }
  double busbw_factor(int ranks) const { return ring_passes * (ranks - 1.0) / ranks; }
  int ring_steps(int ranks) const { return ranks <= 1 ? 0 : ring_passes * (ranks - 1); }
};

const CollectiveTraits& collective_traits(CollectiveKind k);
const std::array<CollectiveTraits, 3>& all_collective_traits();

const char* collective_name(CollectiveKind k);  // "all_reduce", "all_gather", "reduce_scatter"
// Accepts those names, without the underscore, or with '-'; throws UsageError otherwise.
CollectiveKind parse_collective_kind(const std::string& name);

}  // namespace tpbench
