#pragma once
// AbortGuard: the lock discipline of a communicator handle that its owner thread drives, any
// thread may abort, and a watchdog thread queries for asynchronous errors.
//   - abort(): marks the handle aborted first (the owner's next collective throws instead of
//     touching it), then runs the library's teardown under the lock. A teardown may block for a
//     long time (NCCL >= 2.26's ncclCommAbort waits until every CUDA graph that captured the
//     communicator is destroyed).
//   - try_query(): runs an error query under the lock, but never waits for it: once the handle
//     is aborted, or while a teardown holds the lock, there is nothing to report and the
//     caller (a watchdog) must not be held up by it.
//   - destroy(): the orderly teardown, under the lock, unless the handle was aborted.
// Plain C++ (no NCCL), so that the discipline is unit-tested with stand-in communicators.
// Header usable from C++17 (.cu) and C++20 (.cpp) translation units.
#include <atomic>
#include <mutex>
#include <optional>

namespace tpbench {

class AbortGuard {
 public:
  bool aborted() const { return aborted_.load(std::memory_order_acquire); }

  // Runs `teardown` once, after marking the handle aborted; false when it was already aborted.
  template <typename Teardown>
  bool abort(Teardown&& teardown) {
    std::lock_guard<std::mutex> lock(mu_);
    if (aborted()) return false;
    aborted_.store(true, std::memory_order_release);
    teardown();
    return true;
  }

  // `query` returns a std::optional; it runs only when the handle is live and the lock free.
  template <typename Query>
  auto try_query(Query&& query) const -> decltype(query()) {
    if (aborted()) return std::nullopt;
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock() || aborted()) return std::nullopt;
    return query();
  }

  // Runs `teardown` under the lock unless the handle was aborted (the abort freed it).
  template <typename Teardown>
  void destroy(Teardown&& teardown) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!aborted()) teardown();
  }

 private:
  mutable std::mutex mu_;
  std::atomic<bool> aborted_{false};
};

}  // namespace tpbench
