#include "harness/fit/nelder_mead.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tpbench {

MinimizeResult nelder_mead(const std::function<double(const std::vector<double>&)>& f, std::vector<double> x0,
                           const std::vector<double>& step, int max_evals, double tol) {
  const size_t n = x0.size();
  MinimizeResult r;
  std::vector<std::vector<double>> s(n + 1, x0);
  std::vector<double> fv(n + 1);
  for (size_t i = 0; i < n; ++i) s[i + 1][i] += step[i];
  for (size_t i = 0; i <= n; ++i) fv[i] = f(s[i]);
  r.evaluations = int(n + 1);
  std::vector<size_t> idx(n + 1);
  while (r.evaluations < max_evals) {
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return fv[a] < fv[b]; });
    const size_t best = idx[0], worst = idx[n], second = idx[n - 1];
    if (std::abs(fv[worst] - fv[best]) <= tol * (std::abs(fv[best]) + 1e-12)) {
      r.converged = true;
      break;
    }
    std::vector<double> c(n, 0.0);
    for (size_t i = 0; i <= n; ++i)
      if (i != worst)
        for (size_t d = 0; d < n; ++d) c[d] += s[i][d] / double(n);
    auto along = [&](double t) {
      std::vector<double> p(n);
      for (size_t d = 0; d < n; ++d) p[d] = c[d] + t * (s[worst][d] - c[d]);
      return p;
    };
    const auto xr = along(-1.0);
    const double fr = f(xr);
    ++r.evaluations;
    if (fr < fv[best]) {
      const auto xe = along(-2.0);
      const double fe = f(xe);
      ++r.evaluations;
      if (fe < fr) { s[worst] = xe; fv[worst] = fe; } else { s[worst] = xr; fv[worst] = fr; }
    } else if (fr < fv[second]) {
      s[worst] = xr; fv[worst] = fr;
    } else {
      const auto xc = fr < fv[worst] ? along(-0.5) : along(0.5);
      const double fc = f(xc);
      ++r.evaluations;
      if (fc < std::min(fr, fv[worst])) {
        s[worst] = xc; fv[worst] = fc;
      } else {  // shrink toward the best vertex
        for (size_t i = 0; i <= n; ++i) {
          if (i == best) continue;
          for (size_t d = 0; d < n; ++d) s[i][d] = s[best][d] + 0.5 * (s[i][d] - s[best][d]);
          fv[i] = f(s[i]);
          ++r.evaluations;
        }
      }
    }
  }
  const size_t b = size_t(std::min_element(fv.begin(), fv.end()) - fv.begin());
  r.x = s[b];
  r.value = fv[b];
  return r;
}

}  // namespace tpbench
