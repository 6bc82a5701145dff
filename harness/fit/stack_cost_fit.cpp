#include "harness/fit/stack_cost_fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace tpbench {
namespace {

double sse(const std::vector<double>& x, const std::vector<double>& y, double a, double k) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += (y[i] - a - k * x[i]) * (y[i] - a - k * x[i]);
  return s;
}

}  // namespace

StackCostFit fit_stack_cost(const std::vector<double>& x, const std::vector<double>& y, double min_spread) {
  if (x.size() != y.size()) throw std::invalid_argument("fit_stack_cost: predicted and measured differ in length");
  for (size_t i = 0; i < x.size(); ++i)
    if (!(x[i] > 0) || !std::isfinite(x[i]) || !std::isfinite(y[i]))
      throw std::invalid_argument("fit_stack_cost: predicted times must be positive and both finite");
  StackCostFit f;
  f.points = int(x.size());
  if (x.empty()) return f;
  const double n = double(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i];
  const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  // k held at 1: the mean excess, at least 0.
  const double a_only = std::max(0.0, (sy - sx) / n);
  f.k_fixed = x.size() < 2 || *hi < min_spread * *lo;
  if (f.k_fixed) {
    f.a_s = a_only;
  } else {
    // The constrained minimum is the free one when feasible, else on the edge a = 0 or k = 1
    // (the objective is a convex quadratic): take the best feasible candidate.
    struct C { double a, k; };
    std::vector<C> cand;
    const double det = n * sxx - sx * sx;
    if (det > 0) {
      const double k = (n * sxy - sx * sy) / det, a = (sy - k * sx) / n;
      if (a >= 0 && k >= 1) cand.push_back({a, k});
    }
    cand.push_back({0.0, std::max(1.0, sxy / sxx)});
    cand.push_back({a_only, 1.0});
    double best = std::numeric_limits<double>::infinity();
    for (const C& c : cand)
      if (const double s = sse(x, y, c.a, c.k); s < best) best = s, f.a_s = c.a, f.k = c.k;
  }
  for (size_t i = 0; i < x.size(); ++i) f.max_abs_s = std::max(f.max_abs_s, std::fabs(y[i] - f.a_s - f.k * x[i]));
  f.rms_s = std::sqrt(sse(x, y, f.a_s, f.k) / n);
  return f;
}

}  // namespace tpbench
