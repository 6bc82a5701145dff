// Mixture-of-experts plans: the routing's statistics against the formula the cost model uses,
// one MoE layer's ops against hand-derived shapes and bytes at TP and at EP, and every TP/EP
// sharding of the tiny MoE model against the unsharded step on the CPU backend.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "harness/backend/cpu_backend.hpp"
#include "harness/common/error.hpp"
#include "harness/plan/moe_routing.hpp"
#include "harness/plan/op_cost.hpp"
#include "harness/plan/plan.hpp"
#include "harness/sweep/verify.hpp"
#include "tests/enum_printers.hpp"

using namespace tpbench;

namespace {

// Distinct experts a batch of `tokens` touches, averaged over many batches of the RNG's routing.
double simulated_distinct(int64_t tokens, int64_t k, int64_t experts, int trials) {
  double sum = 0;
  for (int t = 0; t < trials; ++t) {
    std::set<int32_t> touched;
    for (int64_t i = 0; i < tokens; ++i)
      for (int32_t e : routed_experts(42, 3, t, i, experts, k)) touched.insert(e);
    sum += double(touched.size());
  }
  return sum / trials;
}

StepConfig moe_config(int tp, int ep, int64_t batch, Phase phase = Phase::Decode) {
  StepConfig c;
  c.tp = tp;
  c.ep = ep;
  c.batch = batch;
  c.context = 24;
  c.phase = phase;
  c.chunk = phase == Phase::Prefill ? 8 : 0;
  return c;
}

const Op& op_named(const RankProgram& r, const std::string& name) {
  for (const Op& op : r.ops)
    if (op.name == name) return op;
  throw std::runtime_error("no op " + name);
}

std::vector<float> run_program(const StepProgram& p) {
  auto backend = make_cpu_backend({});
  backend->prepare(p);
  backend->run(Variant::Full);
  return backend->logits();
}

std::vector<float> run_logits(const ModelSpec& m, const StepConfig& c, Overlap overlap = Overlap::None) {
  StepConfig cc = c;
  cc.overlap = overlap;
  auto backend = make_cpu_backend({});
  const StepProgram p = build_program(m, cc);
  backend->prepare(p);
  backend->run(Variant::Full);
  return backend->logits();
}

}  // namespace

TEST(MoeRouting, ChoosesKDistinctExpertsUniformly) {
  const int64_t E = 8, k = 2, draws = 20000;
  std::vector<int> count(E, 0);
  for (int64_t i = 0; i < draws; ++i) {
    const std::vector<int32_t> ids = routed_experts(7, 1, i % 13, i, E, k);
    ASSERT_EQ(ids.size(), size_t(k));
    EXPECT_NE(ids[0], ids[1]);
    for (int32_t e : ids) ++count[size_t(e)];
  }
  // Each expert is chosen with probability k/E; 4 standard deviations of a binomial count.
  const double mean = double(draws) * k / E, sd = std::sqrt(double(draws) * k / E * (1 - double(k) / E));
  for (int c : count) EXPECT_NEAR(c, mean, 4 * sd);
}

TEST(MoeRouting, ExpectedDistinctExpertsMatchesRandomRouting) {
  struct Case { int64_t tokens, k, experts; };
  for (const Case c : {Case{1, 2, 8}, Case{3, 2, 8}, Case{16, 2, 8}, Case{4, 8, 128}, Case{64, 8, 128}}) {
    const double want = expected_distinct_experts(double(c.tokens), c.k, c.experts);
    const double got = simulated_distinct(c.tokens, c.k, c.experts, 3000);
    // The distinct count varies by at most a few experts a batch: 3000 batches pin the mean to ~0.1.
    EXPECT_NEAR(got, want, 0.02 * want + 0.05) << c.tokens << " tokens, k " << c.k << " of " << c.experts;
  }
  EXPECT_DOUBLE_EQ(expected_distinct_experts(1, 2, 8), 2.0);  // one token: exactly its k experts
  EXPECT_NEAR(expected_distinct_experts(1e6, 2, 8), 8.0, 1e-9);
}

// TP2 EP1, decode of 4 sequences (4 token rows): every rank runs its half of every expert's
// width over all 8 (token, expert) pairs, then all-reduces the tokens' sums.
TEST(MoePlan, OneLayerAtTensorParallelHasHandDerivedShapes) {
  const ModelSpec m = preset_model("tiny-moe");  // H 256, E 8, k 2, Ie 64, one shared expert of 64
  const StepProgram p = build_program(m, moe_config(2, 1, 4));
  const RankProgram& r = p.ranks[1];
  const Op& gu = op_named(r, "L1.experts_gate_up");
  EXPECT_EQ(gu.a.rows, 8);       // 4 tokens x 2 experts
  EXPECT_EQ(gu.w.cols, 2 * 32);  // gate and up slices of 64 / 2
  EXPECT_EQ(gu.moe.groups, 8);
  // FLOPs 2 m n k over the pairs; weights: the experts 4 tokens touch, E (1 - (1 - k/E)^4) of 8,
  // each H x 2 x 32 BF16 values.
  EXPECT_DOUBLE_EQ(gu.flops, 2.0 * 8 * 64 * 256);
  const double touched = 8 * (1 - std::pow(0.75, 4));
  EXPECT_NEAR(gu.weight_bytes, touched * 256 * 64 * 2, 1e-6);
  const Op& down = op_named(r, "L1.experts_down");
  EXPECT_NEAR(down.weight_bytes, touched * 32 * 256 * 2, 1e-6);
  const Op& ar = op_named(r, "L1.moe_ar");
  EXPECT_EQ(ar.collective, CollectiveKind::AllReduce);
  EXPECT_DOUBLE_EQ(ar.message_bytes, 4.0 * 256 * 2);
  const Op& router = op_named(r, "L1.router");
  EXPECT_EQ(router.w.cols, 8);
  EXPECT_DOUBLE_EQ(router.weight_bytes, 256.0 * 8 * 2);
  // The shared expert is sharded like a dense MLP: 64 / 2 columns of gate and of up.
  EXPECT_EQ(op_named(r, "L1.shared_gate_up").w.cols, 2 * 32);
  // Layer 0 is dense: no MoE ops there.
  for (const Op& op : r.ops)
    if (op.layer == 0) EXPECT_NE(op.kind, OpKind::GroupedGemm) << op.name;
}

// TP2 EP2, decode of 4 sequences: each rank owns 2 token rows and 4 experts; the all-to-all
// carries, per rank, its 2 tokens x 2 experts rows of H (each expert lives on one rank).
TEST(MoePlan, OneLayerAtExpertParallelHasHandDerivedBytes) {
  const ModelSpec m = preset_model("tiny-moe");
  const StepProgram p = build_program(m, moe_config(2, 2, 4));
  const RankProgram& r = p.ranks[0];
  const Op& dispatch = op_named(r, "L1.moe_dispatch");
  EXPECT_EQ(dispatch.collective, CollectiveKind::AllToAll);
  const StepWork w = uniform_work(4, 1, 23);
  const Op sized = op_at(dispatch, w, 2.0);
  EXPECT_DOUBLE_EQ(sized.message_bytes, 2.0 * 2 * 256 * 2);  // ceil(4/2) tokens x k x H x 2 bytes
  const Op& gu = op_named(r, "L1.experts_gate_up");
  EXPECT_EQ(gu.moe.groups, 4);
  EXPECT_EQ(gu.w.cols, 2 * 64);  // whole experts
  const double touched_here = 8 * (1 - std::pow(0.75, 4)) * 4 / 8;
  EXPECT_NEAR(op_at(gu, w, 2.0).weight_bytes, touched_here * 256 * 128 * 2, 1e-6);
  // Expected pairs a rank's experts get: 4 tokens x 2 / EP 2.
  EXPECT_EQ(op_at(gu, w, 2.0).a.rows, 4);
  // The all-gather returns every rank all 4 token rows.
  EXPECT_DOUBLE_EQ(op_at(op_named(r, "L1.moe_all_gather"), w, 2.0).message_bytes, 4.0 * 256 * 2);
  // Shared experts are whole on each rank (they run on its token shard).
  EXPECT_EQ(op_named(r, "L1.shared_gate_up").w.cols, 2 * 64);
}

// Every rank routes exactly the tokens the unsharded step routes: the gate tables of the token
// shards, concatenated, are TP1's.
TEST(MoePlan, RoutingDoesNotDependOnSharding) {
  const ModelSpec m = preset_model("tiny-moe");
  const StepProgram one = build_program(m, moe_config(1, 1, 5));
  const StepProgram four = build_program(m, moe_config(4, 4, 5));
  auto gate_table = [](const RankProgram& r) { return r.moe_tables[size_t(op_named(r, "L2.moe_gate").moe.table)].chosen; };
  std::vector<int32_t> joined;
  for (const RankProgram& r : four.ranks) {
    const std::vector<int32_t> t = gate_table(r);
    joined.insert(joined.end(), t.begin(), t.end());
  }
  EXPECT_EQ(joined, gate_table(one.ranks[0]));
}

TEST(MoePlan, RefusesLayoutsItCannotShard) {
  const ModelSpec moe = preset_model("tiny-moe");
  auto error = [](const ModelSpec& m, StepConfig c) {
    try {
      build_program(m, c);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error(moe, moe_config(4, 3, 2)).find("EP must divide TP"), std::string::npos);
  EXPECT_NE(error(preset_model("tiny"), moe_config(2, 2, 2)).find("is dense"), std::string::npos);
  StepConfig sp = moe_config(2, 1, 2);
  sp.plan = PlanKind::TPSP;
  EXPECT_NE(error(moe, sp).find("tp plan only"), std::string::npos);
  StepConfig split = moe_config(2, 1, 2);
  split.overlap = Overlap::Split;
  EXPECT_NE(error(moe, split).find("split"), std::string::npos);
  EXPECT_NE(error(moe, moe_config(8, 16, 2)).find("EP must divide TP"), std::string::npos);
}

class MoeShardedEqualsUnsharded : public ::testing::TestWithParam<std::tuple<int, int, Overlap>> {};

// The logits of every TP/EP sharding against the unsharded step: the same routing, the same
// weights, only the order of floating-point sums differs.
TEST_P(MoeShardedEqualsUnsharded, DecodeAndPrefill) {
  const auto [tp, ep, overlap] = GetParam();
  const ModelSpec m = preset_model("tiny-moe");
  for (Phase ph : {Phase::Decode, Phase::Prefill})
    for (int64_t batch : {1, 3, 5}) {
      const std::vector<float> want = run_logits(m, moe_config(1, 1, batch, ph));
      const std::vector<float> got = run_logits(m, moe_config(tp, ep, batch, ph), overlap);
      ASSERT_EQ(got.size(), size_t(batch * m.vocab));
      EXPECT_LE(relative_l2(got, want), 1e-5) << "TP" << tp << " EP" << ep << " batch " << batch << " "
                                              << phase_name(ph);
    }
}

std::string moe_case_name(const ::testing::TestParamInfo<std::tuple<int, int, Overlap>>& info) {
  return "TP" + std::to_string(std::get<0>(info.param)) + "_EP" + std::to_string(std::get<1>(info.param)) + "_" +
         overlap_name(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Layouts, MoeShardedEqualsUnsharded,
                         ::testing::Values(std::make_tuple(2, 1, Overlap::None), std::make_tuple(4, 1, Overlap::None),
                                           std::make_tuple(8, 1, Overlap::None), std::make_tuple(2, 2, Overlap::None),
                                           std::make_tuple(4, 2, Overlap::None), std::make_tuple(4, 4, Overlap::None),
                                           std::make_tuple(8, 8, Overlap::None), std::make_tuple(8, 2, Overlap::None),
                                           std::make_tuple(4, 4, Overlap::Streams),
                                           std::make_tuple(2, 1, Overlap::Streams)),
                         moe_case_name);

// The comparison can fail: one token weighing its experts by another expert's logit (rank 0's
// gate table edited) moves the logits far beyond the tolerance.
TEST(MoeShardedEqualsUnsharded, AWrongGateIsDetected) {
  const ModelSpec m = preset_model("tiny-moe");
  const std::vector<float> want = run_logits(m, moe_config(1, 1, 3));
  StepProgram p = build_program(m, moe_config(2, 2, 3));
  RankProgram& r = p.ranks[0];
  std::vector<int32_t>& chosen = r.moe_tables[size_t(op_named(r, "L1.moe_gate").moe.table)].chosen;
  chosen[0] = (chosen[0] + 1) % 8 == chosen[1] ? (chosen[0] + 2) % 8 : (chosen[0] + 1) % 8;
  EXPECT_LE(relative_l2(run_logits(m, moe_config(2, 2, 3)), want), 1e-5);
  EXPECT_GT(relative_l2(run_program(p), want), 1e-3);
}
