#include "harness/measure/stats.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

namespace tpbench {

namespace {
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.size() == 1) return sorted[0];
  const double pos = q * double(sorted.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}
}  // namespace

Summary summarize(std::vector<double> s) {
  Summary r;
  r.count = int(s.size());
  if (s.empty()) return r;
  std::sort(s.begin(), s.end());
  r.min = s.front();
  r.max = s.back();
  r.median = percentile(s, 0.5);
  r.p10 = percentile(s, 0.1);
  r.p90 = percentile(s, 0.9);
  r.mean = std::accumulate(s.begin(), s.end(), 0.0) / double(s.size());
  double ss = 0;
  for (double x : s) ss += (x - r.mean) * (x - r.mean);
  r.stdev = s.size() > 1 ? std::sqrt(ss / double(s.size() - 1)) : 0.0;
  r.rel_spread = r.median > 0 && s.size() > 1 ? 1.2533 * r.stdev / std::sqrt(double(s.size())) / r.median : 0.0;
  return r;
}

SampleRun sample(const SamplingPolicy& policy, const std::function<double()>& measure,
                 const std::function<bool()>& cancelled) {
  using Clock = std::chrono::steady_clock;
  SampleRun run;
  const auto t0 = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  for (int i = 0; i < policy.warmup; ++i) {
    if (cancelled && cancelled()) return run;
    measure();
  }
  const auto s0 = Clock::now();
  auto sampling = [&] { return std::chrono::duration<double>(Clock::now() - s0).count(); };
  while (int(run.samples.size()) < policy.max_samples) {
    if (cancelled && cancelled()) break;
    run.samples.push_back(measure());
    if (int(run.samples.size()) < policy.min_samples) continue;
    run.summary = summarize(run.samples);
    if (run.summary.rel_spread < policy.target_spread) {
      run.converged = true;
      break;
    }
    if (sampling() > policy.budget_s) break;
  }
  run.summary = summarize(run.samples);
  run.elapsed_s = elapsed();
  return run;
}

}  // namespace tpbench
