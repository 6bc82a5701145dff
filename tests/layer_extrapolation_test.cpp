// The cost model prices a few-layer template and extends it to the model's layers (dense and
// mixture-of-experts layers apart). Here every step time is checked against an independent
// serial sum over the WHOLE program (all layers, rank 0), each op sized for the step (op_at) and
// priced (price_op) on its own: a dense model's prediction is the sum of its 80 layers' ops, and a
// model mixing dense and MoE layers (DeepSeekMoE's first dense layers, Llama 4's interleave, a
// Qwen-MoE mlp_only_layers entry late in the stack) gets each kind's layers priced as that kind.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/perf/op_pricing.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/plan/op_cost.hpp"
#include "harness/plan/plan.hpp"

namespace tpbench {
namespace {

struct Sum {
  double seconds = 0, weight_bytes = 0, all_to_all_bytes = 0;
};

// Rank 0 of the whole program, every op sized for `w` and priced one by one (Overlap::None: the
// step is their sum).
Sum serial_sum(const ModelSpec& m, int tp, int ep, const StepWork& w, const SystemProfile& prof, const PerfParams& par) {
  StepConfig c;
  c.plan = PlanKind::TP;
  c.overlap = Overlap::None;
  c.tp = tp;
  c.ep = ep;
  c.batch = 8;  // not the template's: every op must follow the step's work, not the program's
  c.context = 64;
  const StepProgram p = build_program(m, c);
  EXPECT_EQ(p.layers_run, m.layers);
  const double eb = double(dtype_bytes(m.dtype));
  const PricingContext ctx{&prof, &par, tp, eb};
  Sum s;
  for (const Op& op : p.ranks[0].ops) {
    const Op sized = op_at(op, w, eb);
    const AttentionWork attn = op.kind == OpKind::Attention ? attention_work_at(op.a.rule, w) : AttentionWork{};
    s.seconds += price_op(sized, attn, ctx).seconds;
    s.weight_bytes += sized.weight_bytes;
    if (op.kind == OpKind::Collective && op.collective == CollectiveKind::AllToAll) s.all_to_all_bytes += sized.message_bytes;
  }
  return s;
}

std::vector<std::pair<std::string, StepWork>> shapes() {
  StepWork mixed;  // 20 decodes at 1500 positions beside one 512-token prompt chunk from the start
  mixed.decode_seqs = 20;
  mixed.decode_ctx_tokens = 20 * 1500;
  mixed.prefill_seqs = 1;
  mixed.prefill_tokens = 512;
  mixed.prefill_ctx_tokens = 512;
  mixed.prefill_attn_pairs = 512.0 * 513 / 2;
  mixed.logits = 21;
  return {{"decode B1", uniform_work(1, 1, 1000)},
          {"decode B37", uniform_work(37, 1, 3000)},
          {"decode B256", uniform_work(256, 1, 2000)},
          {"decode 20 + prefill 512", mixed},
          {"prefill 4 x 1000", uniform_work(4, 1000, 0)}};
}

void expect_matches_whole_program(const ModelSpec& m, int tp, int ep) {
  const SystemProfile prof = builtin_profile("h100-sxm");
  const PerfParams par;
  StepScheme scheme;
  scheme.ep = ep;
  const StepCostModel model(m, tp, prof, par, scheme);
  for (const auto& [name, w] : shapes()) {
    const std::string what = m.name + " TP" + std::to_string(tp) + " EP" + std::to_string(ep) + " " + name;
    const Sum s = serial_sum(m, tp, ep, w, prof, par);
    ASSERT_GT(s.seconds, 0) << what;
    // The step: the ops' sum plus the profile's overheads (per step, per layer) at the default
    // parameters (no stack scale, no stack overhead).
    const double overhead = prof.per_step_overhead_s + prof.per_layer_overhead_s * double(m.layers);
    EXPECT_NEAR(model.step(w).total_s, s.seconds + overhead, 1e-9 * s.seconds) << what;
    EXPECT_NEAR(model.ops_time_s(w), s.seconds, 1e-9 * s.seconds) << what;
    const StepTotals t = model.totals_at(w);
    EXPECT_NEAR(t.weight_bytes, s.weight_bytes, 1e-9 * s.weight_bytes) << what;
    EXPECT_NEAR(t.collective_message_bytes[size_t(CollectiveKind::AllToAll)], s.all_to_all_bytes,
                1e-9 * std::max(1.0, s.all_to_all_bytes))
        << what;
  }
}

// Llama-3.1-70B (dense, 80 layers): the template of 4 layers stretched to 80 prices exactly what
// the 80-layer program's ops cost one by one, at decode, mixed and prefill steps.
TEST(LayerExtrapolation, DenseModelIsTheSumOfAllItsLayers) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  ASSERT_FALSE(m.has_moe_layers());
  for (int tp : {1, 2, 8}) expect_matches_whole_program(m, tp, 1);
}

// Qwen3-30B-A3B's attention and experts over 10 layers with the FFN kinds of three families.
ModelSpec mixed_model(const std::string& name, std::vector<FfnKind> kinds, int64_t shared_experts) {
  ModelSpec m = preset_model("qwen3-30b-a3b");
  m.name = name;
  m.layers = int64_t(kinds.size());
  m.layer_ffn = std::move(kinds);
  m.moe.shared_experts = shared_experts;
  m.moe.shared_intermediate = shared_experts > 0 ? 1536 : 0;
  return m;
}

constexpr FfnKind D = FfnKind::Dense, E = FfnKind::MoE;

TEST(LayerExtrapolation, DenseAndMoeLayersAreExtrapolatedApart) {
  const std::vector<ModelSpec> models = {
      // DeepSeekMoE: first_k_dense_replace 3, one shared expert.
      mixed_model("first-3-dense", {D, D, D, E, E, E, E, E, E, E}, 1),
      // Llama 4: interleave_moe_layer_step 2 (dense, MoE, dense, ...), one shared expert.
      mixed_model("interleaved", {D, E, D, E, D, E, D, E, D, E}, 1),
      // Qwen-MoE mlp_only_layers [7]: the one dense layer lies beyond a 4-layer template.
      mixed_model("dense-layer-7", {E, E, E, E, E, E, E, D, E, E}, 0)};
  for (const ModelSpec& m : models) {
    int moe = 0;
    for (FfnKind k : m.layer_ffn) moe += k == E;
    ASSERT_EQ(m.moe_layer_count(), moe) << m.name;
    expect_matches_whole_program(m, 2, 1);  // experts sharded over TP, an all-reduce
    expect_matches_whole_program(m, 4, 4);  // whole experts per GPU, all-to-all dispatch and return
    expect_matches_whole_program(m, 8, 2);  // experts sharded within 2 groups of 4
  }
}

}  // namespace
}  // namespace tpbench
