// How the cuda backend lays out FP8 GEMMs (harness/backend/fp8_gemm_plan.hpp) and what they add
// to its memory plan, against numbers derived by hand for Llama 3.1 70B at TP=8 (H = 8192,
// 64 query / 8 KV heads of 128, intermediate 28672, 80 layers).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "harness/backend/device_memory_plan.hpp"
#include "harness/backend/fp8_gemm_plan.hpp"
#include "harness/plan/plan.hpp"

namespace tpbench {
namespace {

StepProgram llama70b_tp8(DType weights) {
  ModelSpec m = preset_model("llama-3.1-70b");
  m.weight_dtype = weights;
  StepConfig c;
  c.tp = 8;
  c.batch = 64;
  c.context = 2048;
  return build_program(m, c);
}

TEST(Fp8GemmPlan, TransposedIndexIsTheTransposeOfARowMajorMatrix) {
  // 2 x 3 row-major [[0 1 2] [3 4 5]] stored transposed [[0 3] [1 4] [2 5]].
  const int64_t want[6] = {0, 2, 4, 1, 3, 5};
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(transposed_index(i, 2, 3), want[i]) << i;
  std::set<int64_t> seen;  // a permutation of a 48 x 80 matrix
  for (int64_t i = 0; i < 48 * 80; ++i) seen.insert(transposed_index(i, 48, 80));
  EXPECT_EQ(seen.size(), size_t(48 * 80));
  EXPECT_EQ(*seen.rbegin(), 48 * 80 - 1);
}

TEST(Fp8GemmPlan, ScalesStagingAndCountsHandDerived) {
  const StepProgram p = llama70b_tp8(DType::FP8E4M3);
  const Fp8GemmPlan f = plan_fp8_gemms(p.model, p.ranks[0]);
  ASSERT_FALSE(f.refusal.has_value()) << *f.refusal;
  EXPECT_EQ(f.gemms, 4 * 80);              // qkv, o, gate/up, down per layer; the LM head stays BF16
  ASSERT_EQ(f.scales.size(), size_t(1 + 4 * 80));
  EXPECT_EQ(f.scales[0], 1.0f);            // the inputs' static scale
  // Largest quantized input: the 64 decode rows times k = H = 8192 (qkv and gate/up).
  EXPECT_EQ(f.input_elements, 64 * 8192);
  EXPECT_EQ(f.device_bytes(), 64 * 8192 + 4 * (1 + 4 * 80));
  // Scales: the init bound sqrt(3 / fan_in) over 448, fan-in H for qkv and gate/up, 8192 for o
  // (64 heads x 128), 28672 for down.
  std::set<float> want = {std::sqrt(3.0f / 8192) / 448, std::sqrt(3.0f / 28672) / 448};
  for (size_t i = 0; i < p.ranks[0].buffers.size(); ++i) {
    const int s = f.scale_index[i];
    if (s < 0) continue;
    EXPECT_TRUE(want.count(f.scales[size_t(s)])) << p.ranks[0].buffers[i].name << " " << f.scales[size_t(s)];
    if (p.ranks[0].buffers[i].name == "L0.wdown") EXPECT_FLOAT_EQ(f.scales[size_t(s)], std::sqrt(3.0f / 28672) / 448);
  }
}

TEST(Fp8GemmPlan, Bf16ModelHasNoFp8Gemms) {
  const StepProgram p = llama70b_tp8(DType::BF16);
  const Fp8GemmPlan f = plan_fp8_gemms(p.model, p.ranks[0]);
  EXPECT_FALSE(f.refusal.has_value());
  EXPECT_EQ(f.gemms, 0);
  EXPECT_EQ(f.input_elements, 0);
}

// Per layer and rank, FP8 halves the linear weights: qkv 8192 x 1280, o 1024 x 8192,
// gate/up 8192 x 7168, down 3584 x 8192 = 106,954,752 elements, one byte each instead of two.
TEST(Fp8GemmPlan, MemoryPlanCountsFp8WeightsAtOneByte) {
  const StepProgram bf16 = llama70b_tp8(DType::BF16), fp8 = llama70b_tp8(DType::FP8E4M3);
  const int64_t saved = int64_t(106954752) * 80;
  const Fp8GemmPlan f = plan_fp8_gemms(fp8.model, fp8.ranks[0]);
  const DeviceMemoryPlan a = plan_device_memory(bf16.ranks[0], 0), b = plan_device_memory(fp8.ranks[0], 0, f.device_bytes());
  EXPECT_EQ(a.buffers - b.buffers, saved);
  EXPECT_EQ(b.total() - a.total(), f.device_bytes() - saved);
}

// The model the GPU tests run in FP8: every rank's GEMMs at every TP take cuBLASLt's FP8 layout.
TEST(Fp8GemmPlan, TinyModelRunsAtEveryTp) {
  ModelSpec m = preset_model("tiny");
  m.weight_dtype = DType::FP8E4M3;
  for (PlanKind plan : {PlanKind::TP, PlanKind::TPSP})
    for (int tp : {1, 2, 4, 8}) {
      StepConfig c;
      c.plan = plan;
      c.overlap = tp % 4 == 0 ? Overlap::Streams : Overlap::None;  // collectives on the second stream
      c.tp = tp;
      c.batch = 3;
      c.context = 200;
      const StepProgram p = build_program(m, c);
      for (const RankProgram& r : p.ranks) {
        const Fp8GemmPlan f = plan_fp8_gemms(m, r);
        EXPECT_FALSE(f.refusal.has_value()) << plan_name(plan) << " TP=" << tp << ": " << *f.refusal;
        EXPECT_EQ(f.gemms, 4 * m.layers);
      }
    }
}

}  // namespace
}  // namespace tpbench
