#pragma once
// Sample statistics and the sampling strategy (nvbench style: the strategy is separate from
// what is measured and from how results are printed).
#include <functional>
#include <vector>

namespace tpbench {

struct Summary {
  double median = 0, p10 = 0, p90 = 0, mean = 0, stdev = 0, min = 0, max = 0;
  int count = 0;
  // Standard error of the median relative to it (1.2533 * stdev / sqrt(n) / median): the
  // "relative spread" the sampler drives below its target.
  double rel_spread = 0;
};

// Percentiles by linear interpolation between order statistics. Empty input -> all zeros.
Summary summarize(std::vector<double> samples);

struct SamplingPolicy {
  int warmup = 3;               // runs thrown away first (caches, allocators, JIT, clocks)
  int min_samples = 5;
  int max_samples = 1000;
  double target_spread = 0.02;  // stop once rel_spread is below this...
  double budget_s = 2.0;        // ...or once this much time was spent sampling
};

struct SampleRun {
  std::vector<double> samples;
  Summary summary;
  bool converged = false;  // target spread reached (false: the budget or max_samples ran out)
  double elapsed_s = 0;
};

// Calls `measure` (which returns one sample, in seconds) per the policy. `cancelled` is polled
// between samples; when it returns true, sampling stops early.
SampleRun sample(const SamplingPolicy& policy, const std::function<double()>& measure,
                 const std::function<bool()>& cancelled = {});

}  // namespace tpbench
