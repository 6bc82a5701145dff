#include "collectives/bandwidth.hpp"

#include <stdexcept>

#include "harness/common/error.hpp"

namespace tpbench {

size_t collective_size_bytes(CollectiveKind op, size_t per_rank_count, size_t elem_bytes,
                             int nranks) {
  if (nranks < 1) throw std::invalid_argument("collective_size_bytes: nranks must be >= 1");
  const size_t bytes = per_rank_count * elem_bytes;
  return op == CollectiveKind::AllReduce ? bytes : bytes * static_cast<size_t>(nranks);
}

size_t collective_count_for_size(CollectiveKind op, size_t size_bytes, size_t elem_bytes,
                                 int nranks) {
  if (nranks < 1 || elem_bytes == 0)
    throw std::invalid_argument("collective_count_for_size: nranks and elem_bytes must be >= 1");
  const size_t count = size_bytes / elem_bytes;
  return op == CollectiveKind::AllReduce ? count : count / static_cast<size_t>(nranks);
}

double busbw_factor(CollectiveKind op, int nranks) {
  if (nranks < 1) throw std::invalid_argument("busbw_factor: nranks must be >= 1");
  const double n = nranks;
  // Ring all-reduce = reduce-scatter + all-gather: each moves (n-1)/n of the data per rank.
  return op == CollectiveKind::AllReduce ? 2.0 * (n - 1.0) / n : (n - 1.0) / n;
}

double algbw(size_t size_bytes, double seconds) {
  if (!(seconds > 0)) throw std::invalid_argument("algbw: time must be > 0");
  return static_cast<double>(size_bytes) / seconds;
}

double busbw(CollectiveKind op, size_t size_bytes, double seconds, int nranks) {
  return algbw(size_bytes, seconds) * busbw_factor(op, nranks);
}

}  // namespace tpbench
