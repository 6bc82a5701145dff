// nccl-tests bandwidth arithmetic (against hand-derived numbers) and `tpbench collective`'s
// expected values and wrong-element check, which must be able to fail.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "collectives/bandwidth.hpp"
#include "collectives/collective_driver.hpp"
#include "collectives/inprocess_communicator.hpp"
#include "harness/commands/collective_command.hpp"
#include "harness/common/error.hpp"

using namespace tpbench;

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

TEST(CollectiveBandwidth, AllToAllFollowsNcclTestsAlltoall) {
  // nccl-tests src/alltoall.cu: size = count * nranks * type size (count per peer), busbw =
  // algbw * (n-1)/n. 8 ranks, bf16, 65,536 elements per peer: 1,048,576 B; in 20 us algbw
  // 52.4288 GB/s, busbw 52.4288 * 7/8 = 45.8752 GB/s.
  const size_t size = collective_size_bytes(CollectiveKind::AllToAll, 65'536, 2, 8);
  EXPECT_EQ(size, 1'048'576u);
  EXPECT_NEAR(algbw(size, 20e-6), 52.4288e9, 1e-3);
  EXPECT_NEAR(busbw(CollectiveKind::AllToAll, size, 20e-6, 8), 45.8752e9, 1e-3);
  // 3 ranks, floats, 5 per peer: 60 B; in 1 us algbw 60 MB/s, busbw 40 MB/s.
  EXPECT_EQ(collective_size_bytes(CollectiveKind::AllToAll, 5, 4, 3), 60u);
  EXPECT_NEAR(busbw(CollectiveKind::AllToAll, 60, 1e-6, 3), 40e6, 1e-6);
  EXPECT_DOUBLE_EQ(busbw_factor(CollectiveKind::AllToAll, 1), 0.0);
  // The inverse rounds down to whole elements per peer, as nccl-tests' paramcount = count/nranks.
  EXPECT_EQ(collective_count_for_size(CollectiveKind::AllToAll, 1 << 20, 2, 8), 65'536u);
  EXPECT_EQ(collective_count_for_size(CollectiveKind::AllToAll, 100, 4, 8), 3u);  // 25 floats / 8 peers
  // n - 1 pairwise steps for the hop latency, none for one rank.
  EXPECT_EQ(collective_traits(CollectiveKind::AllToAll).ring_steps(8), 7);
  EXPECT_EQ(collective_traits(CollectiveKind::AllToAll).ring_steps(1), 0);
}

TEST(CollectiveBandwidth, CountForSizeRoundsDownLikeNcclTests) {
  EXPECT_EQ(collective_count_for_size(CollectiveKind::AllReduce, 1 << 20, 4, 8), 262'144u);
  EXPECT_EQ(collective_count_for_size(CollectiveKind::AllGather, 1 << 20, 4, 8), 32'768u);
  EXPECT_EQ(collective_count_for_size(CollectiveKind::ReduceScatter, 100, 4, 8), 3u);  // 25/8
  EXPECT_EQ(collective_size_bytes(CollectiveKind::ReduceScatter, 3, 4, 8), 96u);
  EXPECT_EQ(collective_count_for_size(CollectiveKind::AllGather, 16, 4, 8), 0u);
  EXPECT_EQ(collective_count_for_size(CollectiveKind::AllReduce, 7, 4, 1), 1u);
}

TEST(CollectiveTraits, BuffersAndRingStepsFollowNcclsApi) {
  // NCCL's API, 4 ranks, count 3: ncclAllReduce 3 in / 3 out; ncclAllGather sendcount 3, recvbuff
  // 12; ncclReduceScatter sendbuff 12, recvcount 3; all-to-all (ncclSend/ncclRecv of 3 per peer)
  // 12 in / 12 out. A ring all-reduce takes 2 x 3 steps, the others 3; one rank takes none.
  struct Expect { CollectiveKind k; size_t in, out; int steps; };
  for (const Expect& e : {Expect{CollectiveKind::AllReduce, 3, 3, 6}, Expect{CollectiveKind::AllGather, 3, 12, 3},
                          Expect{CollectiveKind::ReduceScatter, 12, 3, 3}, Expect{CollectiveKind::AllToAll, 12, 12, 3}}) {
    const CollectiveTraits& t = collective_traits(e.k);
    EXPECT_EQ(t.kind, e.k);
    EXPECT_EQ(t.input_elems(3, 4), e.in) << t.name;
    EXPECT_EQ(t.output_elems(3, 4), e.out) << t.name;
    EXPECT_EQ(t.count_argument(e.in, 4), 3u) << t.name;
    EXPECT_EQ(t.ring_steps(4), e.steps) << t.name;
    EXPECT_EQ(t.ring_steps(1), 0) << t.name;
  }
  // One entry per kind, each parsed back from its name.
  std::set<CollectiveKind> seen;
  for (const CollectiveTraits& t : all_collective_traits()) {
    EXPECT_TRUE(seen.insert(t.kind).second) << t.name;
    EXPECT_EQ(parse_collective_kind(t.name), t.kind);
    EXPECT_EQ(parse_collective_kind(t.compact), t.kind);
  }
  EXPECT_EQ(seen.size(), kCollectiveKinds);
  // Only all-to-all lacks an in-place form and an all_reduce bound.
  for (const CollectiveTraits& t : all_collective_traits()) {
    EXPECT_EQ(t.has_in_place, t.kind != CollectiveKind::AllToAll) << t.name;
    EXPECT_EQ(t.bounded_by_all_reduce, t.kind != CollectiveKind::AllToAll) << t.name;
  }
}

TEST(CollectiveBandwidth, OpNamesRoundTripAndBadInputIsRejected) {
  for (auto op : {CollectiveKind::AllReduce, CollectiveKind::AllGather, CollectiveKind::ReduceScatter,
                  CollectiveKind::AllToAll})
    EXPECT_EQ(parse_collective_kind(collective_name(op)), op);
  EXPECT_EQ(parse_collective_kind("all-gather"), CollectiveKind::AllGather);
  EXPECT_EQ(parse_collective_kind("all-to-all"), CollectiveKind::AllToAll);
  EXPECT_EQ(parse_collective_kind("alltoall"), CollectiveKind::AllToAll);
  EXPECT_STREQ(collective_name(CollectiveKind::AllToAll), "all_to_all");
  EXPECT_THROW(parse_collective_kind("broadcast"), UsageError);
  EXPECT_THROW(algbw(100, 0.0), std::invalid_argument);
  EXPECT_THROW(busbw_factor(CollectiveKind::AllReduce, 0), std::invalid_argument);
}

// ---- tpbench collective: its correctness check must be able to fail ------------------------

TEST(CollectiveCommand, WrongCounterCountsCorruptedAndNaNElements) {
  constexpr int n = 4;
  constexpr size_t count = 9;
  // Where rank 2's result sits in the expected vector: every rank holds the same one, or the
  // ranks' results are concatenated (reduce_scatter: count each; all_to_all: n * count each).
  const int rank = 2;
  const std::map<CollectiveKind, size_t> offset = {{CollectiveKind::AllReduce, 0},
                                                   {CollectiveKind::AllGather, 0},
                                                   {CollectiveKind::ReduceScatter, rank * count},
                                                   {CollectiveKind::AllToAll, rank * n * count}};
  for (const auto& [op, off] : offset) {
    const auto expected = collective_expected(op, n, count, 7);
    // This rank's correct output, taken from the expected vector by hand.
    std::vector<float> out(collective_output_elems(op, n, count));
    for (size_t i = 0; i < out.size(); ++i) out[i] = expected[off + i];
    EXPECT_EQ(collective_wrong(op, rank, n, count, expected, out.data()), 0) << collective_name(op);
    out[0] += 1.0f;
    out[out.size() - 1] = NAN;
    EXPECT_EQ(collective_wrong(op, rank, n, count, expected, out.data()), 2) << collective_name(op);
  }
}

TEST(CollectiveCommand, AllToAllExpectedIsTheTransposeOfTheInputs) {
  // 3 ranks, 2 elements per peer: rank r's output part p is elements 2r, 2r+1 of rank p's input.
  const auto e = collective_expected(CollectiveKind::AllToAll, 3, 2, 5);
  ASSERT_EQ(e.size(), 18u);  // 3 ranks x 3 parts x 2
  for (int r = 0; r < 3; ++r)
    for (int p = 0; p < 3; ++p)
      for (size_t i = 0; i < 2; ++i)
        EXPECT_EQ(e[size_t(r) * 6 + size_t(p) * 2 + i], collective_input(5, p, size_t(r) * 2 + i))
            << "rank " << r << " part " << p << " element " << i;
}

TEST(CollectiveCommand, AllToAllCheckCatchesACommunicatorThatGathers) {
  // A communicator that all-gathers each rank's first part instead of exchanging parts. On
  // rank 0 the two coincide (its parts are everyone's part 0); every other rank must be caught.
  constexpr int n = 4;
  constexpr size_t count = 257;
  const auto expected = collective_expected(CollectiveKind::AllToAll, n, count, 9);
  std::vector<int64_t> wrong(n, -1);
  InProcessGroup group(n);
  group.run([&](InProcessCommunicator& comm) {
    std::vector<float> in(count * n), out(count * n);
    for (size_t i = 0; i < in.size(); ++i) in[i] = collective_input(9, comm.rank(), i);
    comm.all_gather(in.data(), out.data(), count, ElemType::F32);
    wrong[size_t(comm.rank())] = collective_wrong(CollectiveKind::AllToAll, comm.rank(), n, count, expected, out.data());
  });
  EXPECT_EQ(wrong[0], 0);
  for (int r = 1; r < n; ++r) EXPECT_GT(wrong[size_t(r)], int64_t(count)) << "rank " << r;
}

TEST(CollectiveCommand, CpuAllToAllIsExactForEveryGroupSize) {
  for (int ranks : {1, 2, 3, 4, 8}) {
    CollectiveRequest req;
    req.op = CollectiveKind::AllToAll;
    req.ranks = ranks;
    req.counts = {1, 7, 1023};
    req.iters = 1;
    req.warmup = 0;
    req.seed = 11;
    int reported = 0;
    run_collective_cpu(req, [&](size_t, const CollectiveTiming& t) {
      ++reported;
      EXPECT_EQ(t.wrong, 0) << ranks << " ranks";
    });
    EXPECT_EQ(reported, 3);
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
