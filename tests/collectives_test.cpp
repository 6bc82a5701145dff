// In-process communicator (exact results, NCCL in-place semantics, abort) and the nccl-tests
// bandwidth arithmetic. Inputs are integer-valued floats, so every sum is exact and the
// expected vectors, computed here in integer arithmetic, must match bit for bit.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <future>
#include <sstream>
#include <thread>
#include <vector>

#include "collectives/bandwidth.hpp"
#include "collectives/inprocess_communicator.hpp"
#include "harness/commands/collective_command.hpp"
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

// ---- bandwidth arithmetic (numbers derived by hand from nccl-tests' definitions) ----------

TEST(CollectiveBandwidth, AllReduceMatchesNcclTestsDefinition) {
  // 8 ranks, 250,000,000 floats = 1e9 B in 10 ms: algbw 100 GB/s, busbw 100 * 2*7/8 = 175 GB/s.
  const size_t size = collective_size_bytes(CollectiveKind::AllReduce, 250'000'000, 4, 8);
  EXPECT_EQ(size, 1'000'000'000u);
  EXPECT_DOUBLE_EQ(algbw(size, 0.01), 100e9);
  EXPECT_DOUBLE_EQ(busbw(CollectiveKind::AllReduce, size, 0.01, 8), 175e9);
  EXPECT_DOUBLE_EQ(busbw_factor(CollectiveKind::AllReduce, 2), 1.0);
  EXPECT_DOUBLE_EQ(busbw_factor(CollectiveKind::AllReduce, 4), 1.5);
  EXPECT_DOUBLE_EQ(busbw(CollectiveKind::AllReduce, size, 0.01, 1), 0.0);  // nothing on a link
}

TEST(CollectiveBandwidth, AllGatherAndReduceScatterCountAllRanksData) {
  // all_gather, 4 ranks x 1000 floats: size 16,000 B; in 1 us algbw 16 GB/s, busbw 12 GB/s.
  const size_t ag = collective_size_bytes(CollectiveKind::AllGather, 1000, 4, 4);
  EXPECT_EQ(ag, 16'000u);
  EXPECT_NEAR(algbw(ag, 1e-6), 16e9, 1e-3);
  EXPECT_NEAR(busbw(CollectiveKind::AllGather, ag, 1e-6, 4), 12e9, 1e-3);
  // reduce_scatter, 8 ranks x 2^20 floats = 32 MiB = 33,554,432 B in 1 ms:
  // algbw 33.554432 GB/s, busbw * 7/8 = 29.360128 GB/s.
  const size_t rs = collective_size_bytes(CollectiveKind::ReduceScatter, 1u << 20, 4, 8);
  EXPECT_EQ(rs, 33'554'432u);
  EXPECT_NEAR(algbw(rs, 1e-3), 33.554432e9, 1e-3);
  EXPECT_NEAR(busbw(CollectiveKind::ReduceScatter, rs, 1e-3, 8), 29.360128e9, 1e-3);
  // bf16 (2 B) all_gather over 2 ranks: 3 elements per rank -> 12 B; busbw half of algbw.
  EXPECT_EQ(collective_size_bytes(CollectiveKind::AllGather, 3, 2, 2), 12u);
  EXPECT_DOUBLE_EQ(busbw(CollectiveKind::AllGather, 12, 1.0, 2), 6.0);
}

TEST(CollectiveBandwidth, CountForSizeRoundsDownLikeNcclTests) {
  EXPECT_EQ(collective_count_for_size(CollectiveKind::AllReduce, 1 << 20, 4, 8), 262'144u);
  EXPECT_EQ(collective_count_for_size(CollectiveKind::AllGather, 1 << 20, 4, 8), 32'768u);
  EXPECT_EQ(collective_count_for_size(CollectiveKind::ReduceScatter, 100, 4, 8), 3u);  // 25/8
  EXPECT_EQ(collective_size_bytes(CollectiveKind::ReduceScatter, 3, 4, 8), 96u);
  EXPECT_EQ(collective_count_for_size(CollectiveKind::AllGather, 16, 4, 8), 0u);
  EXPECT_EQ(collective_count_for_size(CollectiveKind::AllReduce, 7, 4, 1), 1u);
}

TEST(CollectiveBandwidth, OpNamesRoundTripAndBadInputIsRejected) {
  for (auto op : {CollectiveKind::AllReduce, CollectiveKind::AllGather, CollectiveKind::ReduceScatter})
    EXPECT_EQ(parse_collective_kind(collective_kind_name(op)), op);
  EXPECT_EQ(parse_collective_kind("all-gather"), CollectiveKind::AllGather);
  EXPECT_THROW(parse_collective_kind("broadcast"), UsageError);
  EXPECT_THROW(algbw(100, 0.0), std::invalid_argument);
  EXPECT_THROW(busbw_factor(CollectiveKind::AllReduce, 0), std::invalid_argument);
}

// ---- tpbench collective: its correctness check must be able to fail ------------------------

TEST(CollectiveCommand, WrongCounterCountsCorruptedAndNaNElements) {
  constexpr int n = 4;
  constexpr size_t count = 9;
  for (auto op : {CollectiveKind::AllReduce, CollectiveKind::AllGather, CollectiveKind::ReduceScatter}) {
    const auto expected = collective_expected(op, n, count, 7);
    const int rank = 2;
    // This rank's correct output, taken from the expected vector by hand.
    std::vector<float> out(collective_output_elems(op, n, count));
    const size_t off = op == CollectiveKind::ReduceScatter ? rank * count : 0;
    for (size_t i = 0; i < out.size(); ++i) out[i] = expected[off + i];
    EXPECT_EQ(collective_wrong(op, rank, count, expected, out.data()), 0) << collective_kind_name(op);
    out[0] += 1.0f;
    out[out.size() - 1] = NAN;
    EXPECT_EQ(collective_wrong(op, rank, count, expected, out.data()), 2) << collective_kind_name(op);
  }
}

TEST(CollectiveCommand, ExpectedValuesAreIndependentIntegerSums) {
  // all_reduce of 3 ranks at element 5: the integer sum of the three inputs, none of them 0.
  const auto e = collective_expected(CollectiveKind::AllReduce, 3, 6, 11);
  float sum = 0;
  for (int r = 0; r < 3; ++r) {
    const float v = collective_input(11, r, 5);
    EXPECT_NE(v, 0.0f);
    EXPECT_EQ(v, std::trunc(v));
    EXPECT_LE(std::fabs(v), 8.0f);
    sum += v;
  }
  EXPECT_EQ(e[5], sum);
  // reduce_scatter's expected vector is the all-reduce of the ranks' 2*3-element inputs.
  EXPECT_EQ(collective_expected(CollectiveKind::ReduceScatter, 3, 2, 11), e);
  EXPECT_EQ(collective_input_elems(CollectiveKind::ReduceScatter, 3, 2), 6u);
  EXPECT_EQ(collective_output_elems(CollectiveKind::AllGather, 3, 2), 6u);
}

TEST(CollectiveCommand, CpuBackendReportsEveryCountWithNoWrongElements) {
  CollectiveRequest req;
  req.op = CollectiveKind::ReduceScatter;
  req.ranks = 5;
  req.counts = {1, 7, 1023};
  req.iters = 2;
  req.warmup = 1;
  req.seed = 3;
  std::vector<size_t> seen;
  run_collective_cpu(req, [&](size_t k, const CollectiveTiming& t) {
    seen.push_back(k);
    EXPECT_EQ(t.wrong, 0);
    EXPECT_GT(t.time_s, 0);
  });
  EXPECT_EQ(seen, (std::vector<size_t>{0, 1, 2}));
}

TEST(CollectiveCommand, BadOptionsAreUsageErrors) {
  std::ostringstream out;
  auto bad = [&](auto edit) {
    CollectiveOptions o;
    o.max_bytes = 64;
    edit(o);
    EXPECT_THROW(run_collective(o, out), UsageError);
  };
  bad([](CollectiveOptions& o) { o.op = "broadcast"; });
  bad([](CollectiveOptions& o) { o.ranks = 0; });
  bad([](CollectiveOptions& o) { o.ranks = 65; });
  bad([](CollectiveOptions& o) { o.min_bytes = 128; });
  bad([](CollectiveOptions& o) { o.step_factor = 1.0; });
  bad([](CollectiveOptions& o) { o.backend = "tpu"; });
  CollectiveOptions cuda;
  cuda.max_bytes = 64;
  cuda.backend = "cuda";
#if !defined(TPBENCH_HAVE_CUDA)
  EXPECT_THROW(run_collective(cuda, out), UnavailableError);
#endif
  EXPECT_TRUE(out.str().empty()) << "nothing is printed before the inputs are valid";
}
