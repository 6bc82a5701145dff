// The ops the cuda backend times before the first step: every GEMM a step runs with 1 to 16 rows
// and every attention op, whatever the plan and overlap; a prefill chunk's GEMMs (cuBLASLt only)
// have nothing to time.
#include <gtest/gtest.h>

#include "harness/backend/kernel_tuning.hpp"
#include "harness/plan/plan.hpp"

using namespace tpbench;

namespace {

StepProgram program(PlanKind plan, Overlap ov, Phase ph, int64_t batch) {
  StepConfig c;
  c.plan = plan;
  c.overlap = ov;
  c.phase = ph;
  c.tp = 4;
  c.batch = batch;
  c.context = 4096;
  c.chunk = ph == Phase::Prefill ? 1024 : 0;
  c.layers = 2;
  return build_program(preset_model("llama-3.1-70b"), c);
}

}  // namespace

TEST(KernelTuning, EveryDecodeGemmAndAttentionIsTimedBeforeTheStep) {
  const std::pair<PlanKind, Overlap> cases[] = {{PlanKind::TP, Overlap::None},
                                                {PlanKind::TP, Overlap::Split},
                                                {PlanKind::TPSP, Overlap::Streams},
                                                {PlanKind::WeightGather, Overlap::Streams}};
  for (const auto& [plan, ov] : cases) {
    const StepProgram p = program(plan, ov, Phase::Decode, 8);
    const RankProgram& r = p.ranks[0];
    const TuningOps t = ops_to_tune(r);
    int gemms = 0, attentions = 0;
    for (const Op& op : r.ops) {
      gemms += op.kind == OpKind::Gemm && op.a.rows >= 1 && op.a.rows <= 16;
      attentions += op.kind == OpKind::Attention;
    }
    EXPECT_GT(gemms, 0) << plan_name(plan);
    EXPECT_EQ(int(t.gemms.size()), gemms) << plan_name(plan) << " " << overlap_name(ov);
    EXPECT_EQ(int(t.attentions.size()), attentions) << plan_name(plan);
    for (int i : t.gemms) EXPECT_EQ(r.ops[size_t(i)].kind, OpKind::Gemm);
  }
}

TEST(KernelTuning, PrefillTimesOnlyItsFewRowGemmsAndPlansItsAttention) {
  const StepProgram p = program(PlanKind::TP, Overlap::None, Phase::Prefill, 2);
  const RankProgram& r = p.ranks[0];
  const TuningOps t = ops_to_tune(r);
  int chunk_gemms = 0;
  for (const Op& op : r.ops) chunk_gemms += op.kind == OpKind::Gemm && op.a.rows > 16;
  EXPECT_GT(chunk_gemms, 0);  // the chunk's 2 x 1024 rows: cuBLASLt only, nothing to time
  for (int i : t.gemms) EXPECT_LE(r.ops[size_t(i)].a.rows, 16) << r.ops[size_t(i)].name;
  EXPECT_FALSE(t.attentions.empty());
}
