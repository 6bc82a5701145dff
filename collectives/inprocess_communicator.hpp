#pragma once
// In-process communicator: N virtual ranks, one thread each, sharing one address space.
//
// It is the CPU backend's stand-in for NCCL and the reference the tests trust, so it favours
// exactness over speed: every reduction adds the ranks' values in rank order 0..N-1, which
// makes results bit-identical on every rank and independent of thread timing. The semantics,
// in-place use included, are NCCL's (see communicator.hpp). ElemType::F32 only.
//
// Usage (one thread per rank, each calling its own Communicator, like one NCCL comm per GPU):
//   InProcessGroup group(4);
//   group.run([&](InProcessCommunicator& comm) { comm.all_reduce(x, x, n, ElemType::F32); });
// or take the communicators with group.communicators() and start the threads yourself.
//
// A collective is two rendezvous of all ranks: (1) every rank has posted its buffers, so any
// rank may read any other's input; (2) every rank has finished reading, so inputs may be
// overwritten (that is what makes in-place use safe) and the call may return.
// If a rank calls abort(), or a rendezvous outlives the group's timeout, every blocked and
// every later collective of the group throws CollectiveAborted: a failing rank cannot hang
// the others. An aborted group stays aborted (as an aborted NCCL communicator).
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "collectives/communicator.hpp"

namespace tpbench {

// Thrown by every collective of an aborted group; what() names the cause.
class CollectiveAborted : public std::runtime_error {
 public:
  explicit CollectiveAborted(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
struct InProcessState;  // shared by the group and its communicators (inprocess_communicator.cpp)
}

// One rank's handle. Use it from one thread at a time; the group's N handles are meant to be
// driven by N threads concurrently.
class InProcessCommunicator final : public Communicator {
 public:
  InProcessCommunicator(std::shared_ptr<detail::InProcessState> state, int rank);
  int rank() const override { return rank_; }
  int size() const override;
  const char* name() const override { return "inprocess"; }
  void all_reduce(const void* send, void* recv, size_t count, ElemType t,
                  void* stream = nullptr) override;
  void all_gather(const void* send, void* recv, size_t send_count, ElemType t,
                  void* stream = nullptr) override;
  void reduce_scatter(const void* send, void* recv, size_t recv_count, ElemType t,
                      void* stream = nullptr) override;
  // send and recv must not overlap: a group whose rank passes overlapping buffers aborts.
  void all_to_all(const void* send, void* recv, size_t count, ElemType t, void* stream = nullptr) override;
  void abort() override;
  // Rendezvous of all ranks without data (timing fences in benchmarks). Throws like a collective.
  void barrier();

 private:
  std::shared_ptr<detail::InProcessState> state_;
  int rank_;
};

class InProcessGroup {
 public:
  static constexpr std::chrono::milliseconds kNoTimeout{0};

  // `size` ranks (1..1024, else std::invalid_argument). `timeout` > 0 bounds how long a rank
  // waits at a rendezvous for the others; past it the group aborts. kNoTimeout: wait forever.
  explicit InProcessGroup(int size, std::chrono::milliseconds timeout = kNoTimeout);

  int size() const;

  // A handle for `rank` (0 <= rank < size). Handles share the group's state and keep it alive,
  // so they may outlive the InProcessGroup object. Make one handle per rank and per thread.
  std::unique_ptr<InProcessCommunicator> communicator(int rank) const;
  // Handles for ranks 0..size-1, in rank order.
  std::vector<std::unique_ptr<Communicator>> communicators() const;

  // Runs fn(comm) for every rank on its own thread and joins them all. If a rank throws, the
  // group is aborted (so the others unblock) and the first exception that was not the abort's
  // consequence is rethrown here; the group is then unusable.
  void run(const std::function<void(InProcessCommunicator&)>& fn) const;

  // Aborts the group: blocked and later collectives throw CollectiveAborted(reason).
  void abort(const std::string& reason = "aborted") const;
  bool aborted() const;

 private:
  std::shared_ptr<detail::InProcessState> state_;
};

}  // namespace tpbench
