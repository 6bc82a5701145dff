// fit_stack_cost (measured TPOT = a + k x predicted, a >= 0, k >= 1) against least-squares
// solutions worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "harness/fit/stack_cost_fit.hpp"

namespace tpbench {
namespace {

std::vector<double> ms(std::vector<double> v) {
  for (double& x : v) x *= 1e-3;
  return v;
}

TEST(StackCostFit, ExactLineIsRecovered) {
  // y = 5 ms + 1.2 x.
  const StackCostFit f = fit_stack_cost(ms({10, 20, 40}), ms({17, 29, 53}));
  EXPECT_NEAR(f.a_s, 5e-3, 1e-12);
  EXPECT_NEAR(f.k, 1.2, 1e-12);
  EXPECT_FALSE(f.k_fixed);
  EXPECT_NEAR(f.rms_s, 0, 1e-12);
  EXPECT_EQ(f.points, 3);
}

TEST(StackCostFit, SlopeBelowOneIsHeldAtOne) {
  // The free line is y = 15 + 0.5 x (faster than the hardware per unit of work): on the edge
  // k = 1 the best a is the mean excess (10 + 5 - 5) / 3 = 3.333 ms, SSE 116.67 ms^2; the corner
  // a = 0 has k = max(1, sum xy / sum xx = 2100 / 2100) = 1 and SSE 150. rms = sqrt(116.67 / 3).
  const StackCostFit f = fit_stack_cost(ms({10, 20, 40}), ms({20, 25, 35}));
  EXPECT_NEAR(f.a_s, 10e-3 / 3, 1e-12);
  EXPECT_NEAR(f.k, 1.0, 1e-12);
  EXPECT_FALSE(f.k_fixed);  // held by the bound, not for want of spread
  EXPECT_NEAR(f.rms_s, std::sqrt(350.0 / 3 / 3) * 1e-3, 1e-9);
  EXPECT_NEAR(f.max_abs_s, (5 + 10.0 / 3) * 1e-3, 1e-12);
}

TEST(StackCostFit, NegativeInterceptIsHeldAtZero) {
  // The free line is y = -5 + 1.5 x: on the edge a = 0, k = sum xy / sum xx = 2800 / 2100 = 4/3
  // (SSE 16.67 ms^2) beats k = 1, a = 6.667 ms (SSE 116.67).
  const StackCostFit f = fit_stack_cost(ms({10, 20, 40}), ms({10, 25, 55}));
  EXPECT_NEAR(f.a_s, 0, 1e-15);
  EXPECT_NEAR(f.k, 4.0 / 3, 1e-12);
  EXPECT_NEAR(f.rms_s, std::sqrt(50.0 / 3 / 3) * 1e-3, 1e-9);
}

TEST(StackCostFit, NarrowPredictedRangeHoldsKAtOne) {
  // 32 / 30 < 1.25: a fixed and a proportional cost cannot be told apart; a = mean excess 2.333 ms.
  StackCostFit f = fit_stack_cost(ms({30, 31, 32}), ms({32, 33.5, 34.5}));
  EXPECT_TRUE(f.k_fixed);
  EXPECT_EQ(f.k, 1.0);
  EXPECT_NEAR(f.a_s, 7e-3 / 3, 1e-12);
  // Faster than predicted on average: no negative cost.
  f = fit_stack_cost(ms({30, 31, 32}), ms({29, 30, 31}));
  EXPECT_EQ(f.a_s, 0.0);
  // One point: the excess.
  f = fit_stack_cost(ms({10}), ms({14}));
  EXPECT_TRUE(f.k_fixed);
  EXPECT_NEAR(f.a_s, 4e-3, 1e-12);
  // A wider spread threshold holds k for the exact line of the first test too.
  f = fit_stack_cost(ms({10, 20, 40}), ms({17, 29, 53}), 5.0);
  EXPECT_TRUE(f.k_fixed);
  EXPECT_NEAR(f.a_s, (7 + 9 + 13) / 3.0 * 1e-3, 1e-12);
}

TEST(StackCostFit, BadInputThrows) {
  EXPECT_THROW(fit_stack_cost(ms({10, 20}), ms({10})), std::invalid_argument);
  EXPECT_THROW(fit_stack_cost(ms({0, 20}), ms({10, 20})), std::invalid_argument);
  EXPECT_THROW(fit_stack_cost(ms({10, NAN}), ms({10, 20})), std::invalid_argument);
  EXPECT_THROW(fit_stack_cost(ms({10, 20}), ms({10, INFINITY})), std::invalid_argument);
  EXPECT_EQ(fit_stack_cost({}, {}).points, 0);
}

}  // namespace
}  // namespace tpbench
