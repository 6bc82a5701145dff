// tpbench recommend's search and report: a model that fits nowhere, the Pareto front of hand-placed points, the serving commands'
// arithmetic and the token budget the reasons are given in.
#include <gtest/gtest.h>

#include "harness/common/error.hpp"
#include "harness/recommend/recommend.hpp"
#include "harness/recommend/serving_command.hpp"
#include "harness/recommend/why.hpp"

namespace tpbench {
namespace {

TEST(RecommendLayouts, ModelThatFitsNowhereIsAUsageError) {
  RecommendSpec s;
  s.gpus = 1;
  s.nvlink_domain = 8;
  try {
    recommend(preset_model("llama-3.1-70b"), builtin_profile("h100-sxm"), PerfParams{}, s);
    FAIL() << "a 70B model on one 80 GB GPU was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("TP1: KV room for 0 tokens"), std::string::npos) << e.what();
  }
}

TEST(RecommendFrontier, ParetoOfHandPlacedPoints) {
  // (tok/s/user, tok/s/GPU): 0 and 2 and 4 are undominated; 1 is beaten by 0, 3 by 2, 5 equals 4.
  const std::vector<std::pair<double, double>> xy{{50, 10}, {40, 9}, {30, 20}, {20, 15}, {10, 30}, {10, 30}};
  EXPECT_EQ(pareto_front(xy), (std::vector<size_t>{0, 2, 4}));
}

TEST(RecommendServing, CommandsFollowTheLayout) {
  PerfParams par;
  const auto agg = serving_commands(parse_layout("2R-TP4"), 45, "meta-llama/Llama-3.1-70B-Instruct", 10000, 1000, par);
  ASSERT_EQ(agg.size(), 1u);
  EXPECT_EQ(agg[0].instances, 2);
  EXPECT_EQ(agg[0].max_num_seqs, 23);  // ceil(45 / 2)
  EXPECT_EQ(agg[0].command,
            "vllm serve meta-llama/Llama-3.1-70B-Instruct --tensor-parallel-size 4 --max-num-seqs 23 "
            "--max-num-batched-tokens 8192 --gpu-memory-utilization 0.95 --max-model-len 11000");
  const auto pd = serving_commands(parse_layout("3P-TP2 1D-TP8"), 600, "m", 10000, 1000, par);
  ASSERT_EQ(pd.size(), 2u);
  EXPECT_EQ(pd[0].role, ServingRole::Prefill);
  EXPECT_EQ(pd[0].instances, 3);
  EXPECT_EQ(pd[0].max_num_seqs, 200);
  EXPECT_NE(pd[0].command.find("--max-model-len 10001"), std::string::npos);
  EXPECT_NE(pd[0].command.find("kv_producer"), std::string::npos);
  EXPECT_EQ(pd[1].max_num_seqs, 256);  // 600 requests on one decode instance, capped at the engine's 256
  EXPECT_NE(pd[1].command.find("kv_consumer"), std::string::npos);
}

// Capping each instance at the command's --max-num-seqs changes nothing in the simulation: a
// least-loaded router never gives an instance more than ceil(C / instances) requests.
TEST(RecommendServing, MaxNumSeqsCapLeavesThePredictionUnchanged) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  for (const char* name : {"2R-TP4", "3P-TP2 1D-TP2"}) {
    const Layout l = parse_layout(name);
    ServingConfig cfg;
    cfg.concurrency = 13;
    cfg.prompts_per_user = 3;
    const ServingPoint free = simulate_serving(l, m, prof, PerfParams{}, cfg);
    for (const ServingCommand& c : serving_commands(l, 13, "m", cfg.isl, cfg.osl, PerfParams{})) {
      PerfParams capped;
      capped.max_num_seqs = c.max_num_seqs;
      const ServingPoint p = simulate_serving(l, m, prof, capped, cfg);
      EXPECT_DOUBLE_EQ(p.tpot_s, free.tpot_s) << name << " " << serving_role_name(c.role);
      EXPECT_DOUBLE_EQ(p.ttft_s, free.ttft_s) << name << " " << serving_role_name(c.role);
    }
  }
}

// The token budget's parts add up to 1000 / tok/s/GPU (idle is what the steps leave), and the
// steps never claim more GPU time than the run had.
TEST(RecommendWhy, TokenBudgetAddsUp) {
  ServingConfig cfg;
  cfg.concurrency = 32;
  cfg.prompts_per_user = 3;
  for (const char* name : {"2R-TP4", "2P-TP4 1D-TP8"}) {
    const ServingPoint p = simulate_serving(parse_layout(name), preset_model("llama-3.1-70b"), builtin_profile("h100-sxm"),
                                            PerfParams{}, cfg);
    const LayoutTokenBudget b = layout_token_budget(p);
    double sum = 0;
    for (double v : budget_parts(b)) sum += v;
    EXPECT_NEAR(sum, b.total, 1e-9 * b.total) << name;
    EXPECT_GT(b.weights, 0) << name;
    EXPECT_GT(b.total - b.idle, 0.5 * b.total) << name;  // at C = 32 the GPUs are mostly busy
    // Two GPUs more given than the layout uses sit idle: (n + 2) / n of the time per token, the same busy parts.
    const int n = p.num_gpus;
    const LayoutTokenBudget given = layout_token_budget(p, n + 2);
    EXPECT_NEAR(given.total, b.total * (n + 2) / n, 1e-9 * b.total) << name;
    EXPECT_NEAR(given.idle - b.idle, given.total - b.total, 1e-9 * b.total) << name;
  }
}

}  // namespace
}  // namespace tpbench
