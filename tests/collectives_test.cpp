// In-process communicator: exact results, NCCL in-place semantics, abort and deadlines.
// Inputs are integer-valued floats, so every sum is exact and the expected vectors, computed
// here in integer arithmetic, must match bit for bit.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "collectives/detail/breakable_barrier.hpp"
#include "collectives/inprocess_communicator.hpp"
#include "harness/common/error.hpp"
#include "kernels/detail/counter_rng.hpp"

using namespace tpbench;
using namespace std::chrono_literals;

namespace {

// A nonzero integer in [-8, 8] for (call, rank, index): exact in float, and sums of up to
// 64 of them stay far below 2^24.
int64_t ivalue(uint64_t call, int rank, size_t i) {
  const uint64_t h = rng::hash3(call, static_cast<uint64_t>(rank), i);
  const int64_t v = static_cast<int64_t>(h % 16) - 8;  // -8..7
  return v >= 0 ? v + 1 : v;                            // -8..-1, 1..8
}

std::vector<float> input(uint64_t call, int rank, size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(ivalue(call, rank, i));
  return v;
}

// Independent expectations, from the generator in integer arithmetic.
std::vector<float> expected_all_reduce(uint64_t call, int n, size_t count) {
  std::vector<float> e(count);
  for (size_t i = 0; i < count; ++i) {
    int64_t s = 0;
    for (int r = 0; r < n; ++r) s += ivalue(call, r, i);
    e[i] = static_cast<float>(s);
  }
  return e;
}
std::vector<float> expected_all_gather(uint64_t call, int n, size_t send_count) {
  std::vector<float> e;
  for (int r = 0; r < n; ++r)
    for (size_t i = 0; i < send_count; ++i) e.push_back(static_cast<float>(ivalue(call, r, i)));
  return e;
}
std::vector<float> expected_reduce_scatter(uint64_t call, int n, int rank, size_t recv_count) {
  std::vector<float> e(recv_count);
  for (size_t i = 0; i < recv_count; ++i) {
    int64_t s = 0;
    for (int q = 0; q < n; ++q) s += ivalue(call, q, static_cast<size_t>(rank) * recv_count + i);
    e[i] = static_cast<float>(s);
  }
  return e;
}

// Runs fn on a detached thread and reports whether it finished in time. A hang is a test
// failure; the process then exits, because the hung thread still uses the test's objects.
void expect_finishes_within(std::chrono::seconds limit, std::function<void()> fn) {
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  std::thread([done, fn = std::move(fn)] {
    fn();
    done->set_value();
  }).detach();
  if (fut.wait_for(limit) != std::future_status::ready) {
    ADD_FAILURE() << "did not finish within " << limit.count() << " s (hang)";
    std::fflush(stdout);
    std::_Exit(1);
  }
}

const std::vector<size_t> kCounts = {1, 7, 1023, 9001};  // 9001: several 1024-blocks per rank

}  // namespace

class InProcessCollective : public ::testing::TestWithParam<int> {};

TEST_P(InProcessCollective, AllReduceOutOfPlaceAndInPlaceAreExact) {
  const int n = GetParam();
  InProcessGroup group(n, 30s);
  std::atomic<int> checked{0};
  group.run([&](InProcessCommunicator& comm) {
    uint64_t call = 100;
    for (size_t count : kCounts) {
      for (bool in_place : {false, true}) {
        ++call;
        const auto send = input(call, comm.rank(), count);
        std::vector<float> buf = send, out(count, NAN);
        if (in_place)
          comm.all_reduce(buf.data(), buf.data(), count, ElemType::F32);
        else
          comm.all_reduce(send.data(), out.data(), count, ElemType::F32);
        const auto& got = in_place ? buf : out;
        EXPECT_EQ(got, expected_all_reduce(call, n, count))
            << "rank " << comm.rank() << " count " << count << " in_place " << in_place;
        if (!in_place) EXPECT_EQ(buf, send) << "out-of-place must not touch the input";
        ++checked;
      }
    }
  });
  EXPECT_EQ(checked.load(), n * static_cast<int>(kCounts.size()) * 2);
}

TEST_P(InProcessCollective, AllGatherOutOfPlaceAndInPlaceAreExact) {
  const int n = GetParam();
  InProcessGroup group(n, 30s);
  group.run([&](InProcessCommunicator& comm) {
    const size_t r = static_cast<size_t>(comm.rank());
    uint64_t call = 200;
    for (size_t sc : kCounts) {
      ++call;
      const auto send = input(call, comm.rank(), sc);
      std::vector<float> out(sc * static_cast<size_t>(n), NAN);
      comm.all_gather(send.data(), out.data(), sc, ElemType::F32);
      EXPECT_EQ(out, expected_all_gather(call, n, sc)) << "rank " << r << " send_count " << sc;

      ++call;  // in place: this rank's input already sits at its own segment of the output
      const auto mine = input(call, comm.rank(), sc);
      std::vector<float> buf(sc * static_cast<size_t>(n), NAN);
      std::copy(mine.begin(), mine.end(), buf.begin() + static_cast<std::ptrdiff_t>(r * sc));
      comm.all_gather(buf.data() + r * sc, buf.data(), sc, ElemType::F32);
      EXPECT_EQ(buf, expected_all_gather(call, n, sc)) << "in place, rank " << r << " sc " << sc;
    }
  });
}

TEST_P(InProcessCollective, ReduceScatterOutOfPlaceAndInPlaceAreExact) {
  const int n = GetParam();
  InProcessGroup group(n, 30s);
  group.run([&](InProcessCommunicator& comm) {
    const size_t r = static_cast<size_t>(comm.rank());
    uint64_t call = 300;
    for (size_t rc : kCounts) {
      ++call;
      const auto send = input(call, comm.rank(), rc * static_cast<size_t>(n));
      std::vector<float> out(rc, NAN);
      comm.reduce_scatter(send.data(), out.data(), rc, ElemType::F32);
      EXPECT_EQ(out, expected_reduce_scatter(call, n, comm.rank(), rc)) << "rank " << r;

      ++call;  // in place: the result lands on this rank's own segment of its input
      auto buf = input(call, comm.rank(), rc * static_cast<size_t>(n));
      comm.reduce_scatter(buf.data(), buf.data() + r * rc, rc, ElemType::F32);
      const std::vector<float> got(buf.begin() + static_cast<std::ptrdiff_t>(r * rc),
                                   buf.begin() + static_cast<std::ptrdiff_t>((r + 1) * rc));
      EXPECT_EQ(got, expected_reduce_scatter(call, n, comm.rank(), rc)) << "in place, rank " << r;
    }
  });
}

TEST_P(InProcessCollective, AllToAllIsTheTransposeOfTheRanksParts) {
  const int n = GetParam();
  const size_t ranks = static_cast<size_t>(n);
  InProcessGroup group(n, 30s);
  std::atomic<int> checked{0};
  group.run([&](InProcessCommunicator& comm) {
    const size_t r = static_cast<size_t>(comm.rank());
    uint64_t call = 400;
    for (size_t count : kCounts) {
      ++call;
      // Random floats of any value: all_to_all only moves them, so they must arrive bit for bit.
      auto random_input = [&](size_t rank) {
        std::vector<float> v(count * ranks);
        for (size_t i = 0; i < v.size(); ++i)
          v[i] = 1e3f * rng::uniform_pm1(call, rank, i);
        return v;
      };
      const auto send = random_input(r);
      std::vector<float> out(count * ranks, NAN);
      comm.all_to_all(send.data(), out.data(), count, ElemType::F32);
      // By hand: part p of this rank's output is part r of rank p's input.
      std::vector<float> transpose;
      for (size_t p = 0; p < ranks; ++p) {
        const auto theirs = random_input(p);
        transpose.insert(transpose.end(), theirs.begin() + static_cast<std::ptrdiff_t>(r * count),
                         theirs.begin() + static_cast<std::ptrdiff_t>((r + 1) * count));
      }
      EXPECT_EQ(out, transpose) << "rank " << r << " count " << count;
      EXPECT_EQ(send, random_input(r)) << "all_to_all must not touch its input";
      ++checked;
    }
  });
  EXPECT_EQ(checked.load(), n * static_cast<int>(kCounts.size()));
}

TEST_P(InProcessCollective, RepeatedMixedCallsOnOneGroupAcrossRuns) {
  const int n = GetParam();
  InProcessGroup group(n, 30s);
  for (int run = 0; run < 2; ++run) {  // the same group serves several run() calls
    group.run([&](InProcessCommunicator& comm) {
      for (uint64_t k = 0; k < 6; ++k) {
        const uint64_t call = 1000 + static_cast<uint64_t>(run) * 100 + k;
        const size_t count = 5 + k * 3;
        if (k % 3 == 0) {
          auto buf = input(call, comm.rank(), count);
          comm.all_reduce(buf.data(), buf.data(), count, ElemType::F32);
          EXPECT_EQ(buf, expected_all_reduce(call, n, count));
        } else if (k % 3 == 1) {
          std::vector<float> out(count * static_cast<size_t>(n));
          comm.all_gather(input(call, comm.rank(), count).data(), out.data(), count, ElemType::F32);
          EXPECT_EQ(out, expected_all_gather(call, n, count));
        } else {
          std::vector<float> out(count);
          comm.reduce_scatter(input(call, comm.rank(), count * static_cast<size_t>(n)).data(),
                              out.data(), count, ElemType::F32);
          EXPECT_EQ(out, expected_reduce_scatter(call, n, comm.rank(), count));
        }
        comm.barrier();
      }
    });
  }
  EXPECT_FALSE(group.aborted());
}

INSTANTIATE_TEST_SUITE_P(Ranks1to8, InProcessCollective, ::testing::Range(1, 9));

TEST(InProcessGroup, AllToAllRefusesOverlappingBuffersOnEveryRank) {
  // No in-place form: a rank passing one buffer as both aborts the group instead of returning
  // parts overwritten before they were sent.
  InProcessGroup group(3, 30s);
  std::atomic<int> aborted{0};
  expect_finishes_within(60s, [&] {
    EXPECT_THROW(group.run([&](InProcessCommunicator& comm) {
      std::vector<float> buf(3 * 4, 1.0f), other(3 * 4);
      try {
        if (comm.rank() == 1)
          comm.all_to_all(buf.data(), buf.data() + 2, 4, ElemType::F32);  // overlapping
        else
          comm.all_to_all(buf.data(), other.data(), 4, ElemType::F32);
      } catch (const CollectiveAborted& e) {
        if (std::string(e.what()).find("overlapping") != std::string::npos) ++aborted;
        throw;
      }
    }), CollectiveAborted);
  });
  EXPECT_EQ(aborted.load(), 3);
  EXPECT_TRUE(group.aborted());
}

TEST(InProcessGroup, AllReduceOfRandomFloatsIsBitIdenticalOnEveryRankInRankOrder) {
  // Non-integer values, where the order of additions changes the rounding.
  constexpr int n = 7;
  constexpr size_t count = 5000;
  auto value = [](int r, size_t i) { return rng::uniform_pm1(42, static_cast<uint64_t>(r), i); };
  std::vector<std::vector<float>> results(n);
  InProcessGroup group(n, 30s);
  group.run([&](InProcessCommunicator& comm) {
    std::vector<float> buf(count);
    for (size_t i = 0; i < count; ++i) buf[i] = value(comm.rank(), i);
    comm.all_reduce(buf.data(), buf.data(), count, ElemType::F32);
    results[static_cast<size_t>(comm.rank())] = buf;
  });
  for (size_t i = 0; i < count; ++i) {
    float expect = value(0, i);
    for (int r = 1; r < n; ++r) expect += value(r, i);  // rank order 0..n-1
    for (int r = 0; r < n; ++r)
      ASSERT_EQ(std::memcmp(&results[static_cast<size_t>(r)][i], &expect, sizeof(float)), 0)
          << "rank " << r << " element " << i;
  }
}

TEST(InProcessGroup, AbortUnblocksWaitingRanks) {
  expect_finishes_within(20s, [] {
    InProcessGroup group(4);  // no timeout: only abort() can release the waiting ranks
    auto comms = group.communicators();
    std::vector<std::string> errors(3);
    std::vector<std::thread> waiting;
    for (int r = 0; r < 3; ++r)
      waiting.emplace_back([&, r] {
        float x = 1;
        try {
          comms[static_cast<size_t>(r)]->all_reduce(&x, &x, 1, ElemType::F32);
        } catch (const CollectiveAborted& e) {
          errors[static_cast<size_t>(r)] = e.what();
        }
      });
    std::this_thread::sleep_for(50ms);
    comms[3]->abort();
    for (auto& t : waiting) t.join();
    for (const auto& e : errors) EXPECT_NE(e.find("rank 3 called abort()"), std::string::npos) << e;
    EXPECT_TRUE(group.aborted());
    float y = 1;  // an aborted group stays aborted
    EXPECT_THROW(comms[0]->all_reduce(&y, &y, 1, ElemType::F32), CollectiveAborted);
  });
}

TEST(InProcessGroup, DeadlineAbortsWhenARankNeverArrives) {
  expect_finishes_within(20s, [] {
    InProcessGroup group(3, 100ms);
    auto comms = group.communicators();
    std::atomic<int> timed_out{0};
    std::vector<std::thread> ranks;
    for (int r = 0; r < 2; ++r)  // rank 2 never calls
      ranks.emplace_back([&, r] {
        float x = 1;
        try {
          comms[static_cast<size_t>(r)]->all_reduce(&x, &x, 1, ElemType::F32);
        } catch (const CollectiveAborted& e) {
          if (std::string(e.what()).find("timed out") != std::string::npos) ++timed_out;
        }
      });
    for (auto& t : ranks) t.join();
    EXPECT_EQ(timed_out.load(), 2);
  });
}

TEST(InProcessGroup, RunRethrowsTheFailingRanksOwnError) {
  expect_finishes_within(20s, [] {
    InProcessGroup group(4);
    try {
      group.run([](InProcessCommunicator& comm) {
        if (comm.rank() == 2) throw std::runtime_error("boom on rank 2");
        float x = 1;
        comm.all_reduce(&x, &x, 1, ElemType::F32);
      });
      ADD_FAILURE() << "run() did not throw";
    } catch (const CollectiveAborted& e) {
      ADD_FAILURE() << "got the consequence, not the cause: " << e.what();
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "boom on rank 2");
    }
  });
}

TEST(InProcessGroup, RankReturningEarlyAbortsInsteadOfHanging) {
  expect_finishes_within(20s, [] {
    InProcessGroup group(3);
    EXPECT_THROW(group.run([](InProcessCommunicator& comm) {
                   if (comm.rank() == 1) return;  // forgets the collective
                   float x = 1;
                   comm.all_reduce(&x, &x, 1, ElemType::F32);
                 }),
                 CollectiveAborted);
  });
}

TEST(InProcessGroup, MismatchedCollectivesAbortEveryRank) {
  expect_finishes_within(20s, [] {
    InProcessGroup group(2);
    try {
      group.run([](InProcessCommunicator& comm) {
        std::vector<float> x(8, 1.0f);
        comm.all_reduce(x.data(), x.data(), comm.rank() == 0 ? 4 : 5, ElemType::F32);
      });
      ADD_FAILURE() << "run() did not throw";
    } catch (const CollectiveAborted& e) {
      EXPECT_NE(std::string(e.what()).find("mismatch"), std::string::npos) << e.what();
    }
  });
}

TEST(InProcessGroup, Bf16IsAUsageErrorAndSizeIsChecked) {
  InProcessGroup group(1);
  uint16_t x = 0;
  EXPECT_THROW(group.run([&](InProcessCommunicator& c) { c.all_reduce(&x, &x, 1, ElemType::BF16); }),
               UsageError);
  EXPECT_THROW(InProcessGroup(0), std::invalid_argument);
  InProcessGroup four(4);
  EXPECT_EQ(four.size(), 4);
  auto comms = four.communicators();
  ASSERT_EQ(comms.size(), 4u);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(comms[static_cast<size_t>(r)]->rank(), r);
    EXPECT_EQ(comms[static_cast<size_t>(r)]->size(), 4);
  }
  EXPECT_THROW(four.communicator(4), std::invalid_argument);
}

namespace tpbench {
namespace {

// The rank threads' rendezvous (calibrate, `collective --backend cuda`): every generation
// releases all n together, and a broken barrier releases the waiters with CollectiveAborted
// instead of leaving them blocked on a rank that died.
// With a timeout (the device-local group's rendezvous): a peer that never comes breaks the
// barrier after the timeout, and whoever arrives later is refused at once.
TEST(BreakableBarrier, TimeoutBreaksTheBarrier) {
  detail::BreakableBarrier barrier(2);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(barrier.arrive_and_wait(0.05), CollectiveAborted);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50));
  EXPECT_THROW(barrier.arrive_and_wait(10.0), CollectiveAborted);  // broken: no 10 s wait
  detail::BreakableBarrier two(2);  // both arrive well within the timeout: released, no throw
  auto peer = std::async(std::launch::async, [&] { two.arrive_and_wait(10.0); });
  EXPECT_NO_THROW(two.arrive_and_wait(10.0));
  EXPECT_NO_THROW(peer.get());
}

TEST(BreakableBarrier, ReleasesEachGenerationTogetherAndBreaksCleanly) {
  constexpr int n = 4, rounds = 50;
  detail::BreakableBarrier barrier(n);
  std::atomic<int> arrived{0};
  std::atomic<bool> early{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < n; ++t)
    ts.emplace_back([&] {
      for (int r = 0; r < rounds; ++r) {
        arrived.fetch_add(1);
        barrier.arrive_and_wait();
        // Nobody passes round r before all n have arrived at it.
        if (arrived.load() < n * (r + 1)) early = true;
        barrier.arrive_and_wait();  // keeps the next round's arrivals out of this check
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_FALSE(early.load());

  detail::BreakableBarrier broken(3);
  std::vector<std::future<bool>> waiters;
  for (int t = 0; t < 2; ++t)
    waiters.push_back(std::async(std::launch::async, [&] {
      try {
        broken.arrive_and_wait();
      } catch (const CollectiveAborted&) {
        return true;
      }
      return false;
    }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let them block (not needed for correctness)
  broken.breakdown();
  for (auto& w : waiters) {
    ASSERT_EQ(w.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_TRUE(w.get());
  }
  EXPECT_THROW(broken.arrive_and_wait(), CollectiveAborted);  // later arrivals fail at once
}

}  // namespace
}  // namespace tpbench
