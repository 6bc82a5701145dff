#pragma once
// Calibration protocol (DESIGN.md): fit at most four named model parameters on the training
// configurations of a reference, then report the error on every configuration not trained on.
// The objective is the mean squared log ratio of tok/s/GPU and of tok/s/user (the reference's
// per-user definition) over the training points.
#include <string>
#include <vector>

#include "harness/compare/compare.hpp"
#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/sim/grid.hpp"

namespace tpbench {

struct FitSpec {
  std::vector<std::string> params = {"hbm_efficiency", "compute_efficiency", "step_overhead_s", "collective_hop_latency_s"};
  std::vector<std::string> train = {"1R-TP4"};
  int64_t isl = 10000, osl = 1000;
  int max_evals = 400;
};

struct FitResult {
  PerfParams start, fitted;
  std::vector<std::pair<std::string, double>> values;  // fitted, by name
  double objective = 0;
  int evaluations = 0;
  Comparison train, heldout;  // model (fitted) vs reference
  double heldout_aggregated_mape_gpu = 0, heldout_pd_mape_gpu = 0;  // percent; NaN when none held out
};

// Throws UsageError for more than four or unknown parameters, or training configurations the
// reference does not have.
FitResult fit_parameters(const ObservationSet& reference, const ModelSpec& m, const SystemProfile& prof,
                         const PerfParams& start, const FitSpec& spec);

// Simulates every (config, concurrency) of `want` with the given parameters.
ObservationSet simulate_observations(const ObservationSet& want, const ModelSpec& m, const SystemProfile& prof,
                                     const PerfParams& par, int64_t isl, int64_t osl,
                                     const std::vector<std::string>& only_configs);

}  // namespace tpbench
