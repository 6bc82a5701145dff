#include "harness/backend/rank_threads.hpp"

#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace tpbench {
namespace {

std::string what_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

void run_rank_threads(size_t ranks, const std::function<void(size_t)>& body, const RankFailureHooks& hooks) {
  std::mutex mu;
  std::exception_ptr failure;
  auto fail = [&](size_t rank, std::exception_ptr e) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (failure) return;  // an echo of the first failure in a peer
      failure = e;
    }
    if (hooks.note) hooks.note(rank, what_of(e));
    if (hooks.release_graphs) hooks.release_graphs();  // before the abort, which waits for them
    if (hooks.abort) hooks.abort();
  };
  std::vector<std::thread> threads;
  threads.reserve(ranks);
  try {
    for (size_t i = 0; i < ranks; ++i)
      threads.emplace_back([&, i] {
        try {
          body(i);
        } catch (...) {
          fail(i, std::current_exception());
        }
      });
  } catch (...) {  // no thread for a rank: release the started ones before leaving
    fail(threads.size(), std::current_exception());
  }
  for (std::thread& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace tpbench
