#pragma once
// A rendezvous of the rank threads of one process that a failing rank can break, so that no
// thread waits forever for a peer that has thrown (the peers then throw CollectiveAborted).
// With a timeout, a wait that runs out breaks the barrier too (every waiter throws).
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "collectives/inprocess_communicator.hpp"  // CollectiveAborted

namespace tpbench::detail {

class BreakableBarrier {
 public:
  explicit BreakableBarrier(int n) : n_(n) {}
  void arrive_and_wait() { wait(nullptr); }
  // Waits at most `timeout_s` for the peers; then breaks the barrier and throws.
  void arrive_and_wait(double timeout_s) { wait(&timeout_s); }
  void breakdown() {
    std::lock_guard<std::mutex> lock(mu_);
    broken_ = true;
    cv_.notify_all();
  }

 private:
  void wait(const double* timeout_s) {
    std::unique_lock<std::mutex> lock(mu_);
    if (broken_) throw CollectiveAborted("another rank failed");
    const long gen = generation_;
    if (++waiting_ == n_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    auto released = [&] { return generation_ != gen || broken_; };
    if (!timeout_s) {
      cv_.wait(lock, released);
    } else if (!cv_.wait_for(lock, std::chrono::duration<double>(*timeout_s), released)) {
      broken_ = true;
      cv_.notify_all();
      throw CollectiveAborted("a rank did not reach the rendezvous within " + std::to_string(*timeout_s) + " s");
    }
    if (generation_ == gen) throw CollectiveAborted("another rank failed");
  }

  std::mutex mu_;
  std::condition_variable cv_;
  const int n_;
  int waiting_ = 0;
  long generation_ = 0;
  bool broken_ = false;
};

}  // namespace tpbench::detail
