#pragma once
// Collective bandwidth arithmetic, exactly as nccl-tests defines it (src/*.cu, "GetBw"), so a
// tpbench number can be put next to an nccl-tests number without conversion.
//
// nccl-tests "size" of an operation (the first column of its table):
//   all_reduce:      count * elem_bytes                (count = elements per rank, in and out)
//   all_gather:      nranks * send_count * elem_bytes  (the gathered output of one rank)
//   reduce_scatter:  nranks * recv_count * elem_bytes  (the input of one rank)
//   all_to_all:      nranks * count * elem_bytes       (one rank's send buffer, count per peer;
//                                                       src/alltoall.cu, AlltoAllGetBw)
// algbw = size / time. busbw = algbw * factor, the factor turning algbw into the per-link
// traffic of a bandwidth-optimal (ring) algorithm, comparable with the hardware's link speed:
//   all_reduce:                2 (n - 1) / n
//   all_gather/reduce_scatter/all_to_all:  (n - 1) / n
// With n = 1 nothing crosses a link and busbw is 0 (nccl-tests prints 0 too).
// Units here are bytes and seconds (so bytes/s); nccl-tests prints GB/s = 1e9 bytes/s.
#include <cstddef>
#include <string>

#include "collectives/collective_kind.hpp"

namespace tpbench {

// The nccl-tests size in bytes of `op` on `nranks` ranks, given the count argument each rank
// passes to the collective (all_reduce: count; all_gather: send_count; reduce_scatter:
// recv_count; all_to_all: the count per peer).
size_t collective_size_bytes(CollectiveKind op, size_t per_rank_count, size_t elem_bytes,
                             int nranks);

// The inverse, rounding down as nccl-tests does: the per-rank count argument for a requested
// size (all_reduce: size / elem; the others: size / elem / nranks). May be 0.
size_t collective_count_for_size(CollectiveKind op, size_t size_bytes, size_t elem_bytes,
                                 int nranks);

// busbw / algbw for `op` on `nranks` ranks (see above).
double busbw_factor(CollectiveKind op, int nranks);

// Bytes per second. `seconds` must be > 0.
double algbw(size_t size_bytes, double seconds);
double busbw(CollectiveKind op, size_t size_bytes, double seconds, int nranks);

}  // namespace tpbench
