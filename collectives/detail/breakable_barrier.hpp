#pragma once
// A rendezvous of the rank threads of one process that a failing rank can break, so that no
// thread waits forever for a peer that has thrown (the peers then throw CollectiveAborted).
#include <condition_variable>
#include <mutex>

#include "collectives/inprocess_communicator.hpp"  // CollectiveAborted

namespace tpbench::detail {

class BreakableBarrier {
 public:
  explicit BreakableBarrier(int n) : n_(n) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mu_);
    if (broken_) throw CollectiveAborted("another rank failed");
    const long gen = generation_;
    if (++waiting_ == n_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != gen || broken_; });
    if (generation_ == gen) throw CollectiveAborted("another rank failed");
  }
  void breakdown() {
    std::lock_guard<std::mutex> lock(mu_);
    broken_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const int n_;
  int waiting_ = 0;
  long generation_ = 0;
  bool broken_ = false;
};

}  // namespace tpbench::detail
