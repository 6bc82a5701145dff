// The per-op breakdown's launch budget (harness/backend/op_profile_plan.hpp): every chunk of ops
// sits behind a hold that outlasts the host's time to enqueue it, and no chunk can fill CUDA's
// pending-launch queue, for programs up to Llama-3.1-70B's 80 layers.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness/backend/op_profile_plan.hpp"
#include "harness/plan/plan.hpp"

using namespace tpbench;

namespace {

// Host cost of one op with its event record: what a cuBLASLt call plus an event record
// measures on an idle host.
constexpr double kMeasuredHostPerOpS = 10e-6;
// CUDA's pending-launch queue, and the entries one op can take (a GEMM's kernels, its event).
constexpr int kLaunchQueue = 1024;
constexpr int kEntriesPerOp = 4;

struct Check {
  bool covers = true;        // every hold outlasts its chunk's host time
  bool fits_queue = true;    // no chunk can fill the launch queue
  bool contiguous = true;    // chunks are 0..ops in order
};

Check check(const std::vector<ProfileChunk>& chunks, int ops) {
  Check c;
  int next = 0;
  for (const ProfileChunk& k : chunks) {
    c.contiguous = c.contiguous && k.begin == next && k.end > k.begin;
    next = k.end;
    c.covers = c.covers && k.hold_s >= kMeasuredHostPerOpS * (k.end - k.begin);
    c.fits_queue = c.fits_queue && (k.end - k.begin) * kEntriesPerOp <= kLaunchQueue / 2;
  }
  c.contiguous = c.contiguous && next == ops;
  return c;
}

int ops_of_70b_tp4_step() {
  StepConfig c;
  c.tp = 4;
  c.batch = 64;
  c.context = 11000;
  return int(build_program(preset_model("llama-3.1-70b"), c).ranks[0].ops.size());
}

}  // namespace

TEST(OpProfilePlan, EveryChunkIsCoveredAndFitsTheLaunchQueue) {
  const int big = ops_of_70b_tp4_step();
  ASSERT_GT(big, 900);  // 80 layers of about 12 ops: past the launch queue in one go
  for (int ops : {1, 7, 63, 64, 65, 300, big}) {
    const Check c = check(profile_chunks(ops), ops);
    EXPECT_TRUE(c.contiguous) << ops;
    EXPECT_TRUE(c.covers) << ops;
    EXPECT_TRUE(c.fits_queue) << ops;
  }
  EXPECT_TRUE(profile_chunks(0).empty());
}

// One hold in front of the whole step, 100 us + 8 us per op capped at 20 ms: short of the host's
// time at 10 us per op and past the launch queue for an 80-layer step. The check must say so.
TEST(OpProfilePlan, OneHoldForTheWholeStepFailsTheCheck) {
  const int big = ops_of_70b_tp4_step();
  const std::vector<ProfileChunk> one = {{0, big, std::min(100e-6 + 8e-6 * big, 20e-3)}};
  const Check c = check(one, big);
  EXPECT_FALSE(c.covers);
  EXPECT_FALSE(c.fits_queue);
}

TEST(OpProfilePlan, BudgetGrowsWhenAHoldRanOutAndStops) {
  ProfileBudget b;
  const double first = profile_hold_s(b.max_ops, b);
  b = grown(b);
  EXPECT_DOUBLE_EQ(b.per_op_s, 50e-6);
  EXPECT_GT(profile_hold_s(b.max_ops, b), first);
  for (int i = 0; i < 10; ++i) b = grown(b);
  EXPECT_DOUBLE_EQ(b.per_op_s, b.max_per_op_s);
  // Even at the cap a chunk's hold stays far below the watchdog's default step timeout.
  EXPECT_LT(profile_hold_s(b.max_ops, b), 0.05);
}
