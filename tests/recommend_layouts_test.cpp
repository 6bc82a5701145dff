// tpbench recommend's layouts of N GPUs against lists enumerated by hand, and the instance sizes
// a model fits on a profile.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness/common/error.hpp"
#include "harness/recommend/layout_space.hpp"

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
  EXPECT_EQ(s.serving, (std::vector<int>{2, 4, 8}));
  EXPECT_EQ(s.prefill, (std::vector<int>{2, 4, 8}));
  EXPECT_EQ(profile_nvlink_domain(builtin_profile("h100-sxm")), 8);
}

}  // namespace
}  // namespace tpbench
