#pragma once
// The serving stack's cost read off measured step times: measured TPOT = a + k x predicted TPOT
// over the concurrencies of one TP, where a is a fixed cost per step (the stack's scheduler,
// launches and synchronisation) and k stretches the step in proportion to its work (GPU work
// run below the hardware's speed). explain uses it to size llm-d's stack per TP; a and k are the
// model's step_overhead_tp<n>_s and step_time_scale_tp<n>.
#include <string>
#include <vector>

namespace tpbench {

struct StackCostFit {
  double a_s = 0;          // fixed cost per step, >= 0
  double k = 1;            // step-time scale, >= 1 (never faster than the hardware)
  bool k_fixed = false;    // the predicted times hardly vary: k cannot be told from a, held at 1
  double rms_s = 0;        // of measured - (a + k x predicted)
  double max_abs_s = 0;
  int points = 0;
};

// Least squares under a >= 0 and k >= 1. With fewer than two points, or predicted times whose
// largest is under `min_spread` x their smallest, k is held at 1 and a is the mean excess.
// Throws std::invalid_argument when the vectors differ in length or hold a non-positive or
// non-finite predicted time.
StackCostFit fit_stack_cost(const std::vector<double>& predicted_s, const std::vector<double>& measured_s,
                            double min_spread = 1.25);

}  // namespace tpbench
