#pragma once
// Runs one step function per rank, each on its own thread (NCCL needs every rank to enqueue
// concurrently), and unwinds a failure of one rank without deadlock.
//
// When a rank throws, its peers may be blocked in a collective that waits for it; only an
// abort of the communicators releases them. But since NCCL 2.26 ncclCommAbort (and
// ncclCommDestroy) wait until every CUDA graph that captured the communicator is destroyed,
// and those graphs belong to the ranks. So the first failure, on the failing thread and in
// this order:
//   1. note(rank, message): the failure is recorded where a watchdog that fires later can
//      name it;
//   2. release_graphs(): every rank's captured graphs are destroyed (a graph still running is
//      freed when it finishes, which the abort makes happen);
//   3. abort(): the communicators are aborted; blocked peers return (their own failures are
//      echoes and are not reported).
// The first failure is rethrown after every thread has joined. Plain C++: unit-tested with
// stand-in communicators and graphs (tests/rank_failure_test.cpp).
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace tpbench {

struct RankFailureHooks {
  std::function<void(size_t rank, const std::string& message)> note;
  std::function<void()> release_graphs;
  std::function<void()> abort;
};

void run_rank_threads(size_t ranks, const std::function<void(size_t rank)>& body, const RankFailureHooks& hooks);

// Polls `done` (about every millisecond) until it returns true or `limit` has passed; returns
// its last answer. For a teardown that must not hang: after an abort that failed, a
// collective kernel can spin on the GPU for ever, and a rank that waited for its streams (or
// freed memory, which waits for the device) would hang with it. Such a rank gives its device
// memory up instead of freeing it (CudaRank::~CudaRank).
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit);

}  // namespace tpbench
