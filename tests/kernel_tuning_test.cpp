// The ops the cuda backend times before the first step: every GEMM a step runs with 1 to 16 rows
// and every attention op, whatever the plan and overlap; a prefill chunk's GEMMs (cuBLASLt only)
// have nothing to time. Expected counts are derived by hand from the plans' layer structure
// (harness/plan/tp_plans.cpp, weight_gather_plan.cpp): a Llama layer runs four GEMMs (qkv,
// o_proj, gate_up, down) and one attention op, the LM head one GEMM over one row per sequence.
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

struct Expected {
  PlanKind plan;
  Overlap overlap;
  int gemms, attentions;
  int64_t gemm_rows;  // of every layer GEMM
};

}  // namespace

TEST(KernelTuning, EveryDecodeGemmAndAttentionIsTimedBeforeTheStep) {
  // Batch 8 at TP=4, 2 layers:
  //   tp, tp-sp: 2 x 4 layer GEMMs of 8 rows + the LM head = 9; one attention per layer;
  //   tp split (2 chunks of 4 sequences): 2 x 2 x 4 GEMMs of 4 rows + LM head = 17, 2 x 2 attentions;
  //   weight-gather (each rank its 8 / 4 = 2 sequences, whole layers): 2 x 4 of 2 rows + LM head = 9.
  const Expected cases[] = {{PlanKind::TP, Overlap::None, 9, 2, 8},
                            {PlanKind::TP, Overlap::Split, 17, 4, 4},
                            {PlanKind::TPSP, Overlap::Streams, 9, 2, 8},
                            {PlanKind::WeightGather, Overlap::Streams, 9, 2, 2}};
  for (const Expected& e : cases) {
    const StepProgram p = program(e.plan, e.overlap, Phase::Decode, 8);
    const RankProgram& r = p.ranks[0];
    const TuningOps t = ops_to_tune(r);
    const std::string what = std::string(plan_name(e.plan)) + " " + overlap_name(e.overlap);
    EXPECT_EQ(int(t.gemms.size()), e.gemms) << what;
    EXPECT_EQ(int(t.attentions.size()), e.attentions) << what;
    for (int i : t.gemms) {
      const Op& op = r.ops[size_t(i)];
      EXPECT_EQ(op.kind, OpKind::Gemm) << what;
      if (int(i) < r.head_begin) EXPECT_EQ(op.a.rows, e.gemm_rows) << what << " " << op.name;
    }
    for (int i : t.attentions) EXPECT_EQ(r.ops[size_t(i)].kind, OpKind::Attention) << what;
  }
}

// Prefill of 2 sequences x 1024 tokens: the layer GEMMs have 2048 rows (cuBLASLt only, nothing
// to time); the LM head's one row per sequence (2 rows) is the only GEMM timed; both layers'
// attention ops are planned.
TEST(KernelTuning, PrefillTimesOnlyItsFewRowGemmsAndPlansItsAttention) {
  const StepProgram p = program(PlanKind::TP, Overlap::None, Phase::Prefill, 2);
  const RankProgram& r = p.ranks[0];
  const TuningOps t = ops_to_tune(r);
  ASSERT_EQ(t.gemms.size(), 1u);
  EXPECT_EQ(r.ops[size_t(t.gemms[0])].name, "head.lm_head");
  EXPECT_EQ(r.ops[size_t(t.gemms[0])].a.rows, 2);
  EXPECT_EQ(t.attentions.size(), 2u);
}
