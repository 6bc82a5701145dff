#include "harness/perf/toy_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "harness/common/error.hpp"

namespace tpbench {

double ToyModel::per_gpu(double c, int n) const { return std::min(c, alpha * n) / (tau * n); }
double ToyModel::per_user(double c, int n) const { return std::min(c, alpha * n) / (tau * c); }

namespace {
// Best log(tau) and the squared error for a fixed alpha.
double evaluate(const std::vector<ToyPoint>& pts, int n, double alpha, double& log_tau) {
  double s = 0;
  for (const auto& p : pts) s += std::log(std::min(p.concurrency, alpha * n) / n) - std::log(p.tokens_per_s_per_gpu);
  log_tau = s / double(pts.size());
  double err = 0;
  for (const auto& p : pts) {
    const double pred = std::log(std::min(p.concurrency, alpha * n) / n) - log_tau;
    const double d = pred - std::log(p.tokens_per_s_per_gpu);
    err += d * d;
  }
  return err;
}
}  // namespace

ToyFit fit_toy(const std::vector<ToyPoint>& pts, int n) {
  if (pts.size() < 2) throw UsageError("toy model fit needs at least two points");
  if (n < 1) throw UsageError("toy model fit needs N >= 1 GPUs");
  double cmax = 0;
  for (const auto& p : pts) {
    if (!(p.concurrency > 0) || !(p.tokens_per_s_per_gpu > 0))
      throw UsageError("toy model fit needs positive concurrency and throughput");
    cmax = std::max(cmax, p.concurrency);
  }
  // alpha from 1e-3 per GPU to past the largest concurrency (all on AB).
  double lo = std::log(1e-3), hi = std::log(2.0 * cmax / n);
  double best_a = 0, best_e = 1e300, lt = 0;
  for (int pass = 0; pass < 3; ++pass) {
    const int steps = 400;
    double a_best = lo;
    for (int i = 0; i <= steps; ++i) {
      const double la = lo + (hi - lo) * i / steps;
      const double e = evaluate(pts, n, std::exp(la), lt);
      if (e < best_e) { best_e = e; best_a = std::exp(la); a_best = la; }
    }
    const double w = (hi - lo) / steps * 2;
    lo = a_best - w;
    hi = a_best + w;
  }
  ToyFit f;
  evaluate(pts, n, best_a, lt);
  double cmin = cmax;
  for (const auto& p : pts) cmin = std::min(cmin, p.concurrency);
  // Any knee past the data (or before it) fits as well as the one the scan stopped at: put it at
  // the data's edge, where the bound it is reported as lies, keeping the determined quantity.
  if (best_a * n >= cmax) {
    f.knee = ToyKnee::AboveData;
    best_a = cmax / n;
    evaluate(pts, n, best_a, lt);  // tau is the same for every knee past the data
  } else if (best_a * n <= cmin) {
    f.knee = ToyKnee::BelowData;
    const double plateau = best_a / std::exp(lt);  // the one determined quantity
    best_a = cmin / n;
    lt = std::log(best_a / plateau);
  }
  f.model.alpha = best_a;
  f.model.tau = std::exp(lt);
  f.rms_log_error = std::sqrt(best_e / double(pts.size()));
  for (const auto& p : pts) {
    ToyResidual r;
    r.concurrency = p.concurrency;
    r.measured = p.tokens_per_s_per_gpu;
    r.model = f.model.per_gpu(p.concurrency, n);
    r.rel_error = r.model / r.measured - 1.0;
    r.on_ab = f.knee != ToyKnee::BelowData && p.concurrency <= best_a * n;
    f.max_abs_rel_error = std::max(f.max_abs_rel_error, std::abs(r.rel_error));
    f.residuals.push_back(r);
  }
  return f;
}

std::string ToyFit::failures(double tol) const {
  std::string s;
  char buf[128];
  for (const auto& r : residuals)
    if (std::abs(r.rel_error) > tol) {
      std::snprintf(buf, sizeof buf, "%sC=%g (%s, %+.0f%%)", s.empty() ? "" : "; ", r.concurrency,
                    r.on_ab ? "AB" : "BC", 100 * r.rel_error);
      s += buf;
    }
  return s.empty() ? "none" : s;
}

}  // namespace tpbench
