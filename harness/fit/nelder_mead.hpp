#pragma once
// Derivative-free minimization (Nelder-Mead simplex): the simulator's output is piecewise
// smooth in its parameters (batches are integers), so gradients are not available.
#include <functional>
#include <vector>

namespace tpbench {

struct MinimizeResult {
  std::vector<double> x;
  double value = 0;
  int evaluations = 0;
  bool converged = false;  // stopped because the simplex's values agree within tol, not by the budget
};

MinimizeResult nelder_mead(const std::function<double(const std::vector<double>&)>& f, std::vector<double> x0,
                           const std::vector<double>& step, int max_evals, double tol = 1e-7);

}  // namespace tpbench
