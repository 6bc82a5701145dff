// tpbench recommend's layouts of N GPUs against lists enumerated by hand, and the instance sizes
// a model fits on a profile.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "harness/common/error.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/recommend/layout_space.hpp"
#include "harness/recommend/serving_command.hpp"
#include "harness/recommend/why_experts.hpp"

namespace tpbench {
namespace {

std::vector<std::string> names(const std::vector<Layout>& ls) {
  std::vector<std::string> out;
  for (const Layout& l : ls) out.push_back(l.name());
  return out;
}

using Names = std::vector<std::string>;

// 8 GPUs, instances of 2, 4 or 8: by hand, aggregated 8/2, 8/4, 8/8 replicas; PD with
// a x + b y = 8 (nothing else is maximal when every size is even and divides 8).
TEST(RecommendLayouts, EightGpusByHand) {
  const InstanceSizes sizes{{2, 4, 8}, {2, 4, 8}};
  EXPECT_EQ(names(enumerate_layouts(8, sizes)),
            (Names{"4R-TP2", "2R-TP4", "1R-TP8",
                   "1P-TP2 3D-TP2", "2P-TP2 2D-TP2", "3P-TP2 1D-TP2",  // x = 2, y = 2
                   "2P-TP2 1D-TP4",                                    // x = 2, y = 4 (1P leaves 2 idle: a prefill fits)
                   "1P-TP4 2D-TP2",                                    // x = 4, y = 2
                   "1P-TP4 1D-TP4"}));
  EXPECT_EQ(names(enumerate_layouts(8, sizes, false)), (Names{"4R-TP2", "2R-TP4", "1R-TP8"}));
}

// 7 GPUs of sizes 2 and 4: one GPU stays idle wherever no instance fits into it.
TEST(RecommendLayouts, OddCountLeavesOnlyWhatNoInstanceFits) {
  const InstanceSizes sizes{{2, 4}, {2, 4}};
  EXPECT_EQ(names(enumerate_layouts(7, sizes)),
            (Names{"3R-TP2", "1R-TP4", "1P-TP2 2D-TP2", "2P-TP2 1D-TP2", "1P-TP2 1D-TP4", "1P-TP4 1D-TP2"}));
}

// A size that holds a prompt but not a whole request serves only as a prefill instance.
TEST(RecommendLayouts, PrefillOnlySizes) {
  EXPECT_EQ(names(enumerate_layouts(6, InstanceSizes{{4}, {2, 4}})), (Names{"1R-TP4", "1P-TP2 1D-TP4"}));
  EXPECT_EQ(names(enumerate_layouts(4, InstanceSizes{{4}, {2, 4}})), (Names{"1R-TP4"}));
  EXPECT_TRUE(enumerate_layouts(1, InstanceSizes{{2}, {2}}).empty());
}

// llm-d's 16-GPU study ran these PD layouts; all of them are maximal on 16 GPUs.
TEST(RecommendLayouts, SixteenGpusHoldTheLlmdLayouts) {
  const auto all = names(enumerate_layouts(16, InstanceSizes{{2, 4, 8}, {2, 4, 8}}));
  for (const char* l : {"1P-TP4 3D-TP4", "1P-TP8 1D-TP8", "2P-TP4 1D-TP8", "2P-TP4 2D-TP4", "3P-TP4 1D-TP4", "8R-TP2",
                        "4R-TP4", "2R-TP8"})
    EXPECT_NE(std::find(all.begin(), all.end(), l), all.end()) << l;
  // 1P-TP4 1D-TP8 uses 12 of 16 GPUs while another prefill instance fits: not maximal.
  EXPECT_EQ(std::find(all.begin(), all.end(), "1P-TP4 1D-TP8"), all.end());
}

// Llama-3.1-70B on H100 (80 GB): 141 GB of BF16 weights do not fit one GPU; TP2 leaves room for a
// few 11000-token requests; TP3 does not divide the 64 query heads.
TEST(RecommendLayouts, InstanceSizesOfLlama70bOnH100) {
  const auto checks = check_instance_sizes(preset_model("llama-3.1-70b"), builtin_profile("h100-sxm"), PerfParams{},
                                           StepScheme{}, 10000, 1000, 8);
  ASSERT_EQ(checks.size(), 8u);
  EXPECT_FALSE(checks[0].serves);
  EXPECT_NE(checks[0].reason.find("KV room for 0 tokens"), std::string::npos) << checks[0].reason;
  EXPECT_TRUE(checks[1].serves);
  EXPECT_FALSE(checks[2].serves);
  EXPECT_NE(checks[2].reason.find("query heads"), std::string::npos) << checks[2].reason;
  const InstanceSizes s = usable_sizes(checks);
  EXPECT_EQ(s.serving, (std::vector<InstanceSize>{2, 4, 8}));
  EXPECT_EQ(s.prefill, (std::vector<InstanceSize>{2, 4, 8}));
  for (const SizeCheck& c : checks) EXPECT_EQ(c.ep, 1) << "a dense model has no EP axis";
  EXPECT_EQ(profile_nvlink_domain(builtin_profile("h100-sxm")), 8);
}

// Expert-parallel sizes of 4 GPUs, by hand: aggregated replicas per (TP, EP) in that order, then
// PD pairs; each pool keeps its own EP.
TEST(RecommendLayouts, ExpertParallelSizesByHand) {
  const InstanceSizes sizes{{{2, 1}, {2, 2}, {4, 1}, {4, 4}}, {{2, 2}}};
  EXPECT_EQ(names(enumerate_layouts(4, sizes)),
            (Names{"2R-TP2", "2R-TP2EP2", "1R-TP4", "1R-TP4EP4", "1P-TP2EP2 1D-TP2", "1P-TP2EP2 1D-TP2EP2"}));
}

std::vector<std::string> size_names(const std::vector<SizeCheck>& checks) {
  std::vector<std::string> out;
  for (const SizeCheck& c : checks) out.push_back(InstanceSize(c.tp, c.ep).name());
  return out;
}

// A model with MoE layers is checked at every EP dividing TP and the expert count: for
// Qwen3-30B-A3B's 128 experts every divisor of TP; with 12 experts, EP 8 (12 % 8 = 4) is left out.
TEST(RecommendLayouts, MoeSizesSpanEveryValidExpertParallelism) {
  ModelSpec m = preset_model("qwen3-30b-a3b");
  const auto checks = check_instance_sizes(m, builtin_profile("h100-sxm"), PerfParams{}, StepScheme{}, 1000, 1000, 8);
  EXPECT_EQ(size_names(checks), (Names{"TP1", "TP2", "TP2EP2", "TP3", "TP4", "TP4EP2", "TP4EP4", "TP5", "TP6",
                                       "TP6EP2", "TP7", "TP8", "TP8EP2", "TP8EP4", "TP8EP8"}));
  for (const SizeCheck& c : checks)
    if (c.tp == 3 || c.tp == 6) EXPECT_NE(c.reason.find("query heads"), std::string::npos) << c.reason;
  // The weights an instance holds differ by EP only through the replicated parts, so each size
  // of TP 1, 2, 4, 8 serves ISL 1000 + OSL 1000 on an 80 GB H100.
  const InstanceSizes s = usable_sizes(checks);
  EXPECT_EQ(s.serving.size(), 10u);
  m.moe.experts = 12;
  const auto twelve = check_instance_sizes(m, builtin_profile("h100-sxm"), PerfParams{}, StepScheme{}, 1000, 1000, 8);
  const Names n = size_names(twelve);
  EXPECT_NE(std::find(n.begin(), n.end(), "TP8EP4"), n.end());
  EXPECT_EQ(std::find(n.begin(), n.end(), "TP8EP8"), n.end());
}

// vLLM's --enable-expert-parallel makes EP = TP; EP1 is its default; 1 < EP < TP has no flag and
// gets no command, saying why.
TEST(RecommendLayouts, ServingCommandsOfExpertParallelPools) {
  PerfParams par;
  auto command = [&](const std::string& layout) {
    return serving_commands(parse_layout(layout), 8, "Qwen/Qwen3-30B-A3B", 1000, 1000, par);
  };
  const auto ep8 = command("1R-TP8EP8");
  ASSERT_EQ(ep8.size(), 1u);
  EXPECT_NE(ep8[0].command.find("--tensor-parallel-size 8 "), std::string::npos) << ep8[0].command;
  EXPECT_NE(ep8[0].command.find(" --enable-expert-parallel"), std::string::npos) << ep8[0].command;
  EXPECT_TRUE(ep8[0].not_expressible.empty());
  const auto ep1 = command("1R-TP8");
  EXPECT_EQ(ep1[0].command.find("expert"), std::string::npos) << ep1[0].command;
  const auto ep4 = command("1R-TP8EP4");
  EXPECT_TRUE(ep4[0].command.empty());
  EXPECT_NE(ep4[0].not_expressible.find("TP8EP4"), std::string::npos) << ep4[0].not_expressible;
  EXPECT_EQ(ep4[0].max_num_seqs, 8);
  const auto pd = command("1P-TP4EP2 1D-TP4EP4");
  ASSERT_EQ(pd.size(), 2u);
  EXPECT_TRUE(pd[0].command.empty());
  EXPECT_NE(pd[1].command.find("--enable-expert-parallel --kv-transfer-config"), std::string::npos) << pd[1].command;
}

// Under uniform routing a GPU streams the same expert bytes at every EP of a TP: EP e holds E/e
// experts as 1/(TP/e) slices, each touched with probability 1-(1-k/E)^B, so E p / TP experts'
// worth either way. Only EP > 1 has all-to-alls; the experts it holds and touches follow E/e.
TEST(RecommendLayouts, ExpertFactsOfEachExpertParallelism) {
  const ModelSpec m = preset_model("qwen3-30b-a3b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  const double p = 1 - std::pow(1 - 8.0 / 128, 64);
  const ExpertStepFacts ep1 = expert_step_facts(m, prof, PerfParams{}, StepScheme{}, 8, 1, 64, 1500);
  // One expert's gate/up and down at BF16: 3 x 2048 x 768 x 2 bytes; 48 layers; 1/8 per GPU.
  const double by_hand = 128 * p * 3.0 * 2048 * 768 * 2 * 48 / 8;
  EXPECT_NEAR(ep1.expert_weight_bytes, by_hand, 1e-6 * by_hand);
  EXPECT_EQ(ep1.all_to_all_s, 0.0);
  for (int ep : {2, 4, 8}) {
    const ExpertStepFacts f = expert_step_facts(m, prof, PerfParams{}, StepScheme{}, 8, ep, 64, 1500);
    EXPECT_NEAR(f.expert_weight_bytes, ep1.expert_weight_bytes, 1e-9 * by_hand) << ep;
    EXPECT_NEAR(f.resident_weight_bytes, ep1.resident_weight_bytes, 1e-9 * ep1.resident_weight_bytes) << ep;
    EXPECT_GT(f.all_to_all_s, 0.0) << ep;
    EXPECT_DOUBLE_EQ(f.experts_held, 128.0 / ep);
    EXPECT_NEAR(f.experts_touched, 128 * p / ep, 1e-9);
  }
}

}  // namespace
}  // namespace tpbench
