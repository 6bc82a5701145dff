#pragma once
// Communicator: the collectives a TP group needs, one object per rank (as an NCCL comm).
// Semantics follow NCCL exactly, including in-place use:
//   all_reduce(send, recv, count):          recv[i] = sum over ranks of send[i]; send may == recv
//   all_gather(send, recv, send_count):      recv[r*send_count + i] = send_r[i];
//                                            in place when send == recv + rank*send_count
//   reduce_scatter(send, recv, recv_count):  recv[i] = sum over ranks of send_r[rank*recv_count + i];
//                                            in place when recv == send + rank*recv_count
//   all_to_all(send, recv, count):           recv[p*count + i] = send_p[rank*count + i] for every
//                                            rank p: send and recv hold one part of `count` per
//                                            rank (NCCL: ncclSend/ncclRecv of each part to and
//                                            from each peer in one group). Never in place: the
//                                            two buffers must not overlap (checked where cheap).
// `stream` is a cudaStream_t for device communicators and ignored by host ones.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "collectives/collective_kind.hpp"

namespace tpbench {

enum class ElemType { F32, BF16 };
inline size_t elem_size(ElemType t) { return t == ElemType::F32 ? 4 : 2; }

// Whether [a, a + bytes) and [b, b + bytes) share a byte (an all_to_all's send and recv must not).
inline bool buffers_overlap(const void* a, const void* b, size_t bytes) {
  const auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return bytes > 0 && x < y + bytes && y < x + bytes;
}

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const char* name() const = 0;
  virtual void all_reduce(const void* send, void* recv, size_t count, ElemType t,
                          void* stream = nullptr) = 0;
  virtual void all_gather(const void* send, void* recv, size_t send_count, ElemType t,
                          void* stream = nullptr) = 0;
  virtual void reduce_scatter(const void* send, void* recv, size_t recv_count, ElemType t,
                              void* stream = nullptr) = 0;
  virtual void all_to_all(const void* send, void* recv, size_t count, ElemType t, void* stream = nullptr) = 0;
  // Makes every rank's blocked collective fail instead of hanging (watchdog, failed rank).
  virtual void abort() = 0;
  // An error the library recorded on this rank asynchronously (NCCL: ncclCommGetAsyncError),
  // as one line naming the rank; nullopt when there is none. Callable from any thread and never
  // blocks (a watchdog polls it while an abort may be tearing the rank down).
  virtual std::optional<std::string> async_error() const { return std::nullopt; }

  // The collective `kind`; `count` is that collective's own count argument (all_reduce: count,
  // all_gather: send_count, reduce_scatter: recv_count, all_to_all: the count per peer).
  void run(CollectiveKind kind, const void* send, void* recv, size_t count, ElemType t, void* stream = nullptr) {
    switch (kind) {
      case CollectiveKind::AllReduce: all_reduce(send, recv, count, t, stream); break;
      case CollectiveKind::AllGather: all_gather(send, recv, count, t, stream); break;
      case CollectiveKind::ReduceScatter: reduce_scatter(send, recv, count, t, stream); break;
      case CollectiveKind::AllToAll: all_to_all(send, recv, count, t, stream); break;
    }
  }
};

}  // namespace tpbench
