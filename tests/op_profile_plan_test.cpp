// The per-op breakdown's launch budget (harness/backend/op_profile_plan.hpp), against numbers
// derived by hand from the budget's constants (hold = 100 us + 25 us per op, at most 64 ops a
// chunk, per-op time doubled up to 400 us when a hold ran out) and from the measured host cost
// of an op (a cuBLASLt call plus an event record, ~10 us) and CUDA's ~1024-entry launch queue.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness/backend/op_profile_plan.hpp"
#include "harness/plan/plan.hpp"

using namespace tpbench;

namespace {

StepProgram program_70b_tp4() {
  StepConfig c;
  c.tp = 4;
  c.batch = 64;
  c.context = 11000;
  return build_program(preset_model("llama-3.1-70b"), c);
}

}  // namespace

TEST(OpProfilePlan, ChunksAndHoldsByHand) {
  // 130 ops: 64 + 64 + 2; holds 100 + 64 x 25 = 1700 us, and 100 + 2 x 25 = 150 us.
  const std::vector<ProfileChunk> c = profile_chunks(130);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].begin, 0);
  EXPECT_EQ(c[0].end, 64);
  EXPECT_EQ(c[1].begin, 64);
  EXPECT_EQ(c[1].end, 128);
  EXPECT_EQ(c[2].begin, 128);
  EXPECT_EQ(c[2].end, 130);
  EXPECT_NEAR(c[0].hold_s, 1.7e-3, 1e-12);
  EXPECT_NEAR(c[1].hold_s, 1.7e-3, 1e-12);
  EXPECT_NEAR(c[2].hold_s, 150e-6, 1e-12);
  EXPECT_EQ(profile_chunks(64).size(), 1u);
  EXPECT_EQ(profile_chunks(65).size(), 2u);
  EXPECT_TRUE(profile_chunks(0).empty());
}

// Llama-3.1-70B at TP=4, decode: 12 ops per layer (attn_norm, qkv, attn, o_proj, o_ar,
// attn_residual, mlp_norm, gate_up, silu_mul, down, down_ar, mlp_residual) x 80 layers = 960,
// past the launch queue in one go (960 x 4 entries), and 9.6 ms of host time at 10 us an op. A full chunk's host time, 64 x 10 us = 640 us, is within its
// 1.7 ms hold; its launches, at most 4 queue entries per op, take 256 of the 1024 entries.
TEST(OpProfilePlan, A70bStepInChunksThatCoverTheHostAndFitTheQueue) {
  const StepProgram p = program_70b_tp4();
  const RankProgram& r = p.ranks[0];
  EXPECT_EQ(r.head_begin - r.layers_begin, 960);
  const int ops = int(r.ops.size());
  const std::vector<ProfileChunk> c = profile_chunks(ops);
  EXPECT_EQ(int(c.size()), (ops + 63) / 64);
  EXPECT_EQ(c.back().end, ops);
  EXPECT_GT(c.front().hold_s, 64 * 10e-6);
  EXPECT_LE(ProfileBudget{}.max_ops * 4, 1024 / 2);
}

TEST(OpProfilePlan, BudgetGrowsWhenAHoldRanOutAndStops) {
  ProfileBudget b;
  const double expected_per_op[] = {50e-6, 100e-6, 200e-6, 400e-6, 400e-6};
  for (double want : expected_per_op) {
    b = grown(b);
    EXPECT_DOUBLE_EQ(b.per_op_s, want);
  }
  // At the cap a full chunk holds 100 us + 64 x 400 us = 25.7 ms: far below any step timeout.
  EXPECT_NEAR(profile_hold_s(64, b), 25.7e-3, 1e-12);
}

// The measured event overshoot comes off every op, never below zero.
TEST(OpProfilePlan, EventOvershootIsSubtracted) {
  const std::vector<double> got = without_event_overshoot({5e-6, 1e-6, 0.2e-6}, 0.5e-6);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_NEAR(got[0], 4.5e-6, 1e-15);
  EXPECT_NEAR(got[1], 0.5e-6, 1e-15);
  EXPECT_EQ(got[2], 0.0);
  EXPECT_EQ(without_event_overshoot({3e-6}, -1.0)[0], 3e-6);  // a negative measurement is not added
}
