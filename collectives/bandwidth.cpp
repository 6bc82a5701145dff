#include "collectives/bandwidth.hpp"

#include <stdexcept>

#include "harness/common/error.hpp"

namespace tpbench {

size_t collective_size_bytes(CollectiveKind op, size_t per_rank_count, size_t elem_bytes,
                             int nranks) {
  if (nranks < 1) throw std::invalid_argument("collective_size_bytes: nranks must be >= 1");
  return collective_traits(op).size_elems(per_rank_count, nranks) * elem_bytes;
}

size_t collective_count_for_size(CollectiveKind op, size_t size_bytes, size_t elem_bytes,
                                 int nranks) {
  if (nranks < 1 || elem_bytes == 0)
    throw std::invalid_argument("collective_count_for_size: nranks and elem_bytes must be >= 1");
  return size_bytes / elem_bytes / collective_traits(op).size_parts(nranks);
}

double busbw_factor(CollectiveKind op, int nranks) {
  if (nranks < 1) throw std::invalid_argument("busbw_factor: nranks must be >= 1");
  return collective_traits(op).busbw_factor(nranks);
}

double algbw(size_t size_bytes, double seconds) {
  if (!(seconds > 0)) throw std::invalid_argument("algbw: time must be > 0");
  return static_cast<double>(size_bytes) / seconds;
}

double busbw(CollectiveKind op, size_t size_bytes, double seconds, int nranks) {
  return algbw(size_bytes, seconds) * busbw_factor(op, nranks);
}

}  // namespace tpbench
