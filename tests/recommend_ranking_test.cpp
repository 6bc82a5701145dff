// The ranking check against measured curves: Kendall's tau-b and the level interpolation against
// values worked by hand (scipy.stats.kendalltau gives the same tau-b for these lists).
#include <gtest/gtest.h>

#include <cmath>

#include "harness/recommend/ranking_agreement.hpp"

namespace tpbench {
namespace {

TEST(RecommendRanking, KendallTauByHand) {
  EXPECT_DOUBLE_EQ(kendall_tau_b({1, 2, 3}, {10, 20, 30}), 1.0);
  EXPECT_DOUBLE_EQ(kendall_tau_b({1, 2, 3}, {3, 2, 1}), -1.0);
  // One swapped pair of six: (5 - 1) / 6.
  EXPECT_NEAR(kendall_tau_b({1, 2, 3, 4}, {1, 3, 2, 4}), 4.0 / 6.0, 1e-12);
  // A tie in the first list: 2 concordant pairs, 1 tied in a only: 2 / sqrt(3 x 2).
  EXPECT_NEAR(kendall_tau_b({1, 1, 2}, {1, 2, 3}), 2.0 / std::sqrt(6.0), 1e-12);
  EXPECT_TRUE(std::isnan(kendall_tau_b({1}, {1})));
}

TEST(RecommendRanking, LevelsInterpolateLogLogAndNeverExtrapolate) {
  const UserGpuCurve c{{40, 25}, {10, 100}};
  EXPECT_NEAR(tokens_per_gpu_at(c, 20), 50.0, 1e-9);  // halfway in log: 100 x (1/4)^(1/2)
  EXPECT_NEAR(tokens_per_gpu_at(c, 40), 25.0, 1e-9);
  EXPECT_TRUE(std::isnan(tokens_per_gpu_at(c, 5)));
  EXPECT_TRUE(std::isnan(tokens_per_gpu_at(c, 41)));
  EXPECT_EQ(per_user_levels({{"a", {{1.5, 1}, {25, 1}}}}), (std::vector<double>{2, 3, 5, 7, 10, 20}));
}

TEST(RecommendRanking, AgreementPerLevel) {
  // At 20 tok/s/user: measured A 50 > B 40 > C 10; predicted B first, then A, then C.
  const std::map<std::string, UserGpuCurve> measured{
      {"A", {{10, 100}, {40, 25}}}, {"B", {{10, 80}, {40, 20}}}, {"C", {{10, 20}, {40, 5}}}, {"D", {{30, 9}, {40, 8}}}};
  const std::map<std::string, UserGpuCurve> predicted{
      {"A", {{10, 100}, {40, 25}}}, {"B", {{10, 120}, {40, 30}}}, {"C", {{10, 20}, {40, 5}}}, {"D", {{30, 9}, {40, 8}}}};
  const auto levels = ranking_agreement(measured, predicted, {20, 35, 50});
  ASSERT_EQ(levels.size(), 2u);  // 50 is beyond every curve
  EXPECT_EQ(levels[0].configs, (std::vector<std::string>{"A", "B", "C"}));  // D starts at 30
  EXPECT_NEAR(levels[0].tau, 1.0 / 3.0, 1e-12);  // one of three pairs swapped
  EXPECT_EQ(levels[0].measured_best, "A");
  EXPECT_EQ(levels[0].predicted_best, "B");
  EXPECT_EQ(levels[1].configs.size(), 4u);
}

}  // namespace
}  // namespace tpbench
