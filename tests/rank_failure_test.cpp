// A failing rank must unwind a multi-rank step without deadlock, on the host, with stand-ins:
// communicators whose abort, like NCCL >= 2.26's ncclCommAbort, sets the abort flag (blocked
// peers return) and then waits until every "graph" that captured them is destroyed. Aborting
// first and releasing the graphs after the threads joined must stall past a time limit (the
// stand-ins model the hazard); the order of run_rank_threads (graphs first) must not. Also: the watchdog never waits for a
// communicator while holding its lock, an abort in progress never blocks an error query, and a
// firing names the rank that failed first.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "collectives/abort_guard.hpp"
#include "collectives/inprocess_communicator.hpp"  // CollectiveAborted
#include "collectives/watchdog.hpp"
#include "harness/backend/rank_threads.hpp"

namespace tpbench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// What the stand-ins share: live "graphs" holding a reference on the communicators, the abort
// flag, and the test's escape hatch once it has seen a stall.
struct World {
  std::mutex mu;
  std::condition_variable cv;
  int graphs_alive = 0;
  bool abort_flag = false;
  bool teardown = false;

  void set(bool World::*field) {
    {
      std::lock_guard<std::mutex> lock(mu);
      this->*field = true;
    }
    cv.notify_all();
  }
  void release_graphs(int n) {
    {
      std::lock_guard<std::mutex> lock(mu);
      graphs_alive -= n;
    }
    cv.notify_all();
  }
};

// A communicator with NCCL >= 2.26's abort: flag first, then wait for the graphs (holding the
// handle's lock all along, as ncclCommAbort runs under NcclCommunicator's guard).
class StandInComm final : public Communicator {
 public:
  StandInComm(World& w, int rank) : w_(w), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return 2; }
  const char* name() const override { return "stand-in"; }
  void all_reduce(const void*, void*, size_t, ElemType, void*) override { wait_for_abort(); }
  void all_gather(const void*, void*, size_t, ElemType, void*) override { wait_for_abort(); }
  void reduce_scatter(const void*, void*, size_t, ElemType, void*) override { wait_for_abort(); }
  void all_to_all(const void*, void*, size_t, ElemType, void*) override { wait_for_abort(); }
  void abort() override {
    guard_.abort([this] {
      w_.set(&World::abort_flag);
      std::unique_lock<std::mutex> lock(w_.mu);
      w_.cv.wait(lock, [this] { return w_.graphs_alive == 0 || w_.teardown; });
    });
  }
  std::optional<std::string> async_error() const override {
    return guard_.try_query([]() -> std::optional<std::string> { return std::nullopt; });
  }

 private:
  // A collective whose peer never comes: returns only once the communicators are aborted.
  void wait_for_abort() {
    std::unique_lock<std::mutex> lock(w_.mu);
    w_.cv.wait(lock, [this] { return w_.abort_flag || w_.teardown; });
    throw CollectiveAborted("aborted");
  }
  World& w_;
  int rank_;
  AbortGuard guard_;
};

// One rank's captured graph: a reference on the communicators until destroyed. Once dropped,
// no graph is captured again (as CudaRank::drop_graphs).
class StandInGraphs {
 public:
  explicit StandInGraphs(World& w) : w_(w) {}
  void capture() {
    std::lock_guard<std::mutex> lock(mu_);
    if (dropped_) throw std::runtime_error("step abandoned");
    std::lock_guard<std::mutex> wl(w_.mu);
    ++w_.graphs_alive;
    ++held_;
  }
  void drop() {
    std::lock_guard<std::mutex> lock(mu_);
    dropped_ = true;
    w_.release_graphs(held_);
    held_ = 0;
  }

 private:
  World& w_;
  std::mutex mu_;
  int held_ = 0;
  bool dropped_ = false;
};

// Rank 0 captures its graph and blocks in a collective; rank 1 captures and then fails.
struct TwoRanks {
  World world;
  std::vector<std::unique_ptr<StandInComm>> comms;
  std::vector<std::unique_ptr<StandInGraphs>> graphs;
  std::vector<Communicator*> raw;
  TwoRanks() {
    for (int r = 0; r < 2; ++r) {
      comms.push_back(std::make_unique<StandInComm>(world, r));
      graphs.push_back(std::make_unique<StandInGraphs>(world));
      raw.push_back(comms.back().get());
    }
  }
  void body(size_t rank) {
    graphs[rank]->capture();
    if (rank == 1) throw std::runtime_error("cuBLAS failed on rank 1");
    comms[rank]->all_reduce(nullptr, nullptr, 1, ElemType::BF16, nullptr);
  }
  void release_all() {
    for (auto& g : graphs) g->drop();
  }
};

// Runs f on a thread; true when it finished within `limit`. When it did not, `unstick` runs
// and the thread is joined, so a stall fails the test instead of hanging ctest.
bool finishes_within(std::chrono::milliseconds limit, const std::function<void()>& f,
                     const std::function<void()>& unstick) {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  std::thread t([&] {
    try {
      f();
    } catch (...) {
    }
    done.set_value();
  });
  const bool in_time = finished.wait_for(limit) == std::future_status::ready;
  if (!in_time) unstick();
  t.join();
  return in_time;
}

// The order that deadlocks: abort on the failing thread, graphs released (as Backend::release
// does) only after the threads joined and the watchdog step was disarmed.
void abort_first_order(TwoRanks& w, CollectiveWatchdog& dog) {
  {
    CollectiveWatchdog::Step step(dog, 60s, "step");
    RankFailureHooks hooks;
    hooks.abort = [&] { abort_all(w.raw, std::chrono::hours(1)); };  // NCCL's own wait has no limit
    run_rank_threads(2, [&](size_t i) { w.body(i); }, hooks);
  }
  w.release_all();
}

void graphs_first_order(TwoRanks& w, CollectiveWatchdog& dog, std::string* first_error) {
  CollectiveWatchdog::Step step(dog, 60s, "step");
  RankFailureHooks hooks;
  hooks.note = [&](size_t rank, const std::string& m) { dog.note_rank_failure(int(rank), m); };
  hooks.release_graphs = [&] { w.release_all(); };
  hooks.abort = [&] { abort_all(w.raw, std::chrono::hours(1)); };
  try {
    run_rank_threads(2, [&](size_t i) { w.body(i); }, hooks);
  } catch (const std::exception& e) {
    *first_error = e.what();
  }
}

TEST(RankFailure, AbortBeforeReleasingGraphsStalls) {
  TwoRanks w;
  CollectiveWatchdog dog(w.raw, 1ms, [](const std::string&) {});
  const bool finished = finishes_within(2s, [&] { abort_first_order(w, dog); }, [&] { w.world.set(&World::teardown); });
  EXPECT_FALSE(finished) << "the stand-in no longer models an abort that waits for graphs";
}

TEST(RankFailure, GraphsReleasedBeforeTheAbortUnwind) {
  TwoRanks w;
  std::atomic<bool> fired{false};
  CollectiveWatchdog dog(w.raw, 1ms, [&](const std::string&) { fired = true; });
  std::string first_error;
  const bool finished =
      finishes_within(5s, [&] { graphs_first_order(w, dog, &first_error); }, [&] { w.world.set(&World::teardown); });
  EXPECT_TRUE(finished) << "a failing rank deadlocked the step";
  EXPECT_EQ(first_error, "cuBLAS failed on rank 1");  // the cause, not rank 0's echo
  EXPECT_EQ(w.world.graphs_alive, 0);
  EXPECT_FALSE(fired.load());
}

// An abort in progress holds the handle's lock; an error query must return at once.
TEST(RankFailure, ErrorQueryNeverWaitsForAnAbort) {
  AbortGuard guard;
  std::promise<void> entered, leave;
  std::shared_future<void> may_leave = leave.get_future().share();
  std::thread aborter([&] {
    guard.abort([&] {
      entered.set_value();
      may_leave.wait();
    });
  });
  entered.get_future().wait();
  const auto t0 = Clock::now();
  const std::optional<std::string> e = guard.try_query([]() -> std::optional<std::string> { return "error"; });
  EXPECT_LT(Clock::now() - t0, 500ms);
  EXPECT_FALSE(e.has_value());
  leave.set_value();
  aborter.join();
  EXPECT_TRUE(guard.aborted());
  EXPECT_FALSE(guard.try_query([]() -> std::optional<std::string> { return "error"; }).has_value());
  bool destroyed = false;
  guard.destroy([&] { destroyed = true; });
  EXPECT_FALSE(destroyed) << "an aborted handle was destroyed again";
}

// A communicator whose error query blocks until released.
class BlockingQueryComm final : public Communicator {
 public:
  explicit BlockingQueryComm(std::shared_future<void> release) : release_(std::move(release)) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  const char* name() const override { return "blocking"; }
  void all_reduce(const void*, void*, size_t, ElemType, void*) override {}
  void all_gather(const void*, void*, size_t, ElemType, void*) override {}
  void reduce_scatter(const void*, void*, size_t, ElemType, void*) override {}
  void all_to_all(const void*, void*, size_t, ElemType, void*) override {}
  void abort() override {}
  std::optional<std::string> async_error() const override {
    queried = true;
    release_.wait();
    return std::nullopt;
  }
  mutable std::atomic<bool> queried{false};

 private:
  std::shared_future<void> release_;
};

TEST(RankFailure, DisarmNeverWaitsForACommunicator) {
  std::promise<void> release;
  BlockingQueryComm comm(release.get_future().share());
  CollectiveWatchdog dog({&comm}, 1ms, [](const std::string&) {});
  dog.arm(60s, "step");
  while (!comm.queried) std::this_thread::sleep_for(1ms);  // the watchdog is inside the query
  const bool finished = finishes_within(2s, [&] { dog.disarm(); }, [&] { release.set_value(); });
  EXPECT_TRUE(finished) << "disarm waited for the watchdog's communicator query";
  if (finished) release.set_value();
}

TEST(RankFailure, FiringNamesTheRankThatFailedFirst) {
  std::promise<std::string> message;
  CollectiveWatchdog dog({}, 1ms, [&](const std::string& m) { message.set_value(m); });
  dog.note_rank_failure(1, "cuBLAS error on GPU 1");
  dog.note_rank_failure(0, "NCCL communicator was aborted");  // an echo: not kept
  dog.arm(20ms, "step of 4 ranks");
  std::future<std::string> f = message.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), "NCCL step of 4 ranks timed out after 20 ms (rank 1 failed first: cuBLAS error on GPU 1)");
}

// Clean-up on the way to an exit is bounded: a call that never returns is left behind.
TEST(CollectiveWatchdog, CleanUpIsBoundedByItsGrace) {
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> never = release->get_future().share();
  const auto t0 = Clock::now();
  EXPECT_FALSE(run_within([never] { never.wait(); }, 50ms));
  EXPECT_LT(Clock::now() - t0, 2s);
  release->set_value();  // let the detached thread end
  EXPECT_TRUE(run_within([] {}, 5s));
}

TEST(CollectiveWatchdog, FiresOnceAfterTheDeadline) {
  std::atomic<int> fired{0};
  std::string message;
  {
    CollectiveWatchdog dog({}, 5ms, [&](const std::string& m) {
      message = m;
      fired.fetch_add(1);
    });
    dog.arm(30ms, "all_reduce of 8 B on 2 ranks");
    const auto until = Clock::now() + 5s;
    while (fired.load() == 0 && Clock::now() < until) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(30ms);
    EXPECT_TRUE(dog.fired());
  }
  EXPECT_EQ(fired.load(), 1);
  EXPECT_EQ(message, "NCCL all_reduce of 8 B on 2 ranks timed out after 30 ms");
}

TEST(CollectiveWatchdog, DisarmedStepsNeverFire) {
  std::atomic<int> fired{0};
  CollectiveWatchdog dog({}, 2ms, [&](const std::string&) { fired.fetch_add(1); });
  for (int i = 0; i < 5; ++i) {
    CollectiveWatchdog::Step step(dog, 1s, "step");
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(fired.load(), 0);
  EXPECT_FALSE(dog.fired());
}

}  // namespace
}  // namespace tpbench
