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

enum class CollectiveKind { AllReduce, AllGather, ReduceScatter, AllToAll };
inline constexpr size_t kCollectiveKinds = 4;  // arrays indexed by size_t(CollectiveKind)

// What rank r holds after a collective follows from three attributes:
//   - it reads part r of every rank's input when the input has rank parts (reduce_scatter,
//     all_to_all), else every rank's whole input (all_reduce, all_gather);
//   - it sums those pieces element by element when the kind reduces, else it concatenates them
//     in rank order, one output part per rank (all_gather, all_to_all).
// So all_to_all's output part p on rank r is part r of rank p's input: the ranks' parts are
// transposed, where all_gather's part p is rank p's whole input.
struct CollectiveTraits {
  CollectiveKind kind;
  const char* name;     // "all_reduce": tables, JSON, profiles, the CLI
  const char* compact;  // "allreduce": also accepted on input
  // Buffers, in units of the count argument each rank passes to NCCL: 1 part, or one part per
  // rank of the group (all_gather's output, reduce_scatter's input, both of all_to_all's).
  bool input_has_rank_parts;
  bool output_has_rank_parts;
  // The result sums the ranks' inputs element by element (else each rank's part is copied).
  bool reduces;
  // NCCL defines an in-place form (send == recv, or the rank's own part of the larger buffer).
  // all_to_all has none: ncclSend/ncclRecv pairs would overwrite parts not yet sent.
  bool has_in_place;
  // The all_reduce time at the same nccl-tests size bounds this kind's time from above: a ring
  // all-reduce is a reduce-scatter then an all-gather of that size, so a profile holding only
  // all_reduce tables can still price these kinds (pessimistically). all_to_all's pairwise
  // point-to-point exchanges are not built from a ring all-reduce's steps, so nothing says the
  // all_reduce time bounds them (at small sizes n - 1 separate messages may well take longer).
  bool bounded_by_all_reduce;
  // A bandwidth-optimal ring moves (n - 1)/n of the nccl-tests size per rank this many times:
  // all-reduce is a reduce-scatter then an all-gather; all-to-all sends (n - 1)/n of its send
  // buffer once, in n - 1 pairwise steps.
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
  // The count argument for an input buffer of in_count elements on a group of `ranks`.
  size_t count_argument(size_t in_count, int ranks) const {
    return input_has_rank_parts && ranks > 0 ? in_count / size_t(ranks) : in_count;
  }
  // Where, in every rank's input, the elements that make up `rank`'s result start.
  size_t source_offset(size_t count, int rank) const { return input_has_rank_parts ? count * size_t(rank) : 0; }
  double busbw_factor(int ranks) const { return ring_passes * (ranks - 1.0) / ranks; }
  int ring_steps(int ranks) const { return ranks <= 1 ? 0 : ring_passes * (ranks - 1); }
};

const CollectiveTraits& collective_traits(CollectiveKind k);
const std::array<CollectiveTraits, kCollectiveKinds>& all_collective_traits();

const char* collective_name(CollectiveKind k);  // "all_reduce", "all_gather", "reduce_scatter", "all_to_all"
// Accepts those names, without the underscore, or with '-'; throws UsageError otherwise.
CollectiveKind parse_collective_kind(const std::string& name);

}  // namespace tpbench
