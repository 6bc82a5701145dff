// Host-side graph construction of the cuda backend: which ops record and wait for events, and
// the memory-fit decision made before anything is allocated.
#include <gtest/gtest.h>

#include "harness/backend/device_memory_plan.hpp"
#include "harness/backend/stream_schedule.hpp"
#include "harness/plan/plan.hpp"

using namespace tpbench;

namespace {
StepProgram program(PlanKind plan, Overlap ov, int tp = 2, int64_t batch = 4) {
  StepConfig c;
  c.plan = plan;
  c.overlap = ov;
  c.tp = tp;
  c.batch = batch;
  c.context = 64;
  return build_program(preset_model("tiny"), c);
}
}  // namespace

TEST(StreamSchedule, NoOverlapNeedsNoEvents) {
  const StepProgram p = program(PlanKind::TP, Overlap::None);
  const StreamSchedule s = schedule_streams(p.ranks[0]);
  EXPECT_EQ(s.events, 0);
  EXPECT_FALSE(s.uses_comm_stream);
}

// tp with streams: each of the 2 all-reduces per layer waits for its GEMM (one event) and is
// waited for by the residual add (another): 4 events per layer, 8 for tiny's 2 layers; the
// logits all-gather waits for the LM head GEMM (1 more) and nothing waits for it but the
// section's join; layer 0's first norm waits for the embedding's all-reduce (1 more). 10 events.
TEST(StreamSchedule, EveryCrossStreamDependencyHasOneEvent) {
  const StepProgram p = program(PlanKind::TP, Overlap::Streams);
  const RankProgram& r = p.ranks[0];
  const StreamSchedule s = schedule_streams(r);
  EXPECT_TRUE(s.uses_comm_stream);
  EXPECT_EQ(s.events, 10);
  for (size_t i = 0; i < r.ops.size(); ++i)
    for (int d : r.ops[i].deps) {
      if (r.ops[d].stream == r.ops[i].stream) continue;
      const int e = s.record_after[d];
      ASSERT_GE(e, 0) << r.ops[d].name;
      EXPECT_NE(std::find(s.wait_before[i].begin(), s.wait_before[i].end(), e), s.wait_before[i].end())
          << r.ops[i].name << " does not wait for " << r.ops[d].name;
    }
}

// Weight-gather prefetch: the gather of layer l+1 is on the comm stream before layer l's
// compute ops, and layer l's first compute op waits for layer l's gather only.
TEST(StreamSchedule, WeightGatherPrefetchOrder) {
  const StepProgram p = program(PlanKind::WeightGather, Overlap::Streams);
  const RankProgram& r = p.ranks[0];
  int gather0 = -1, gather1 = -1, norm0 = -1;
  for (size_t i = 0; i < r.ops.size(); ++i) {
    if (r.ops[i].name == "L0.weight_ag") gather0 = int(i);
    if (r.ops[i].name == "L1.weight_ag") gather1 = int(i);
    if (r.ops[i].name == "L0.attn_norm") norm0 = int(i);
  }
  ASSERT_GE(gather1, 0);
  ASSERT_GE(norm0, 0);
  EXPECT_LT(gather1, norm0);  // issued before layer 0 computes: it overlaps it
  EXPECT_EQ(r.ops[gather1].stream, StreamId::Comm);
  const StreamSchedule s = schedule_streams(r);
  ASSERT_EQ(s.wait_before[norm0].size(), 1u);
  ASSERT_GE(gather0, 0);
  EXPECT_LT(gather0, r.layers_begin);  // the first gather is the prologue's: nothing hides it
  EXPECT_EQ(s.wait_before[norm0][0], s.record_after[gather0]);
}

TEST(StreamSchedule, VariantsSkipTheRightOps) {
  Op gemm, coll;
  gemm.kind = OpKind::Gemm;
  coll.kind = OpKind::Collective;
  EXPECT_FALSE(skipped(gemm, Variant::Full));
  EXPECT_FALSE(skipped(coll, Variant::Full));
  EXPECT_TRUE(skipped(coll, Variant::ComputeOnly));
  EXPECT_FALSE(skipped(gemm, Variant::ComputeOnly));
  EXPECT_TRUE(skipped(gemm, Variant::CommOnly));
  EXPECT_FALSE(skipped(coll, Variant::CommOnly));
}

// Llama-3.1-70B TP=8 decode, batch 64 at 11000 tokens: weights 2 x 17,378,066,432 / 2 ... per
// rank 17.4 GB BF16 (see plan_test) + KV 64 x 11000 x 40,960 B = 28.8 GB: fits an 80 GB H100.
// TP=2: weights 2 x 70.4e9 / 2 ~ 70 GB + KV 115 GB: does not.
TEST(DeviceMemoryPlan, FitDecisionForLlama70b) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  StepConfig c;
  c.batch = 64;
  c.context = 11000;
  const int64_t h100_free = 79LL << 30;
  c.tp = 8;
  const StepProgram p8 = build_program(m, c);
  const DeviceMemoryPlan m8 = plan_device_memory(p8.ranks[0], 0);
  EXPECT_NEAR(double(footprint(p8.ranks[0], 2).kv_bytes), 64.0 * 11000 * 40960, 1.0);
  EXPECT_FALSE(device_fit(m8, h100_free, 0).has_value());
  c.tp = 2;
  const StepProgram p2 = build_program(m, c);
  const auto why = device_fit(plan_device_memory(p2.ranks[0], 0), h100_free, 3);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("GPU 3"), std::string::npos);
}
