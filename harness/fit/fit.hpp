#pragma once
// Calibration protocol (docs/architecture.md): fit at most four named model parameters on the training
// configurations of a reference, then report the error on every configuration not trained on.
// The objective is the mean squared log ratio of tok/s/GPU and of tok/s/user (the reference's
// per-user definition) over the training points.
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "harness/observations/compare.hpp"
#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/sim/grid.hpp"

namespace tpbench {

struct FitSpec {
  std::vector<std::string> params = {"hbm_efficiency", "compute_efficiency", "step_overhead_s", "collective_hop_latency_s"};
  std::vector<std::string> train = {"1R-TP4"};
  int64_t isl = 10000, osl = 1000;
  StepScheme scheme;     // plan and overlap the simulator prices
  int max_evals = 3000;  // enough to converge: the fit reports whether it did
  // When the training points leave a ridge, refit along it (see RidgePoint).
  bool explore_ridge = true;
  bool analyse = true;  // identifiability analysis (the refits along a ridge skip it)
  // Called every few seconds of a long fit with a line saying how far it is (null: silent).
  std::function<void(const std::string&)> progress;
  std::string progress_label = "fit";
};

// How well the training points pin the fitted parameters down. Residuals are the log ratios
// the objective squares; their Jacobian J with respect to log(parameter) is taken by central
// differences at the optimum, and J^T J's eigenvectors are the parameter combinations the data
// sees, strongest first. A direction whose RMS residual change per unit log change is a tiny
// fraction of the strongest one is a ridge: the training points cannot tell those parameters
// apart, and whatever the held-out error is, it depends on where along the ridge the optimizer
// happened to stop. Parameters sitting at a bound of their range are left out (named in at_bound).
struct Identifiability {
  std::vector<std::string> params;              // the ones analysed, in this order
  std::vector<std::string> at_bound;            // efficiencies at 1 (or 0.2), overheads at ~0
  std::vector<double> strength;                 // sqrt(eigenvalue / residuals), descending
  std::vector<std::vector<double>> directions;  // unit eigenvectors, one per strength
  double weakest_over_strongest = 1;            // strength.back() / strength.front(); 1 when < 2 params
  bool ridge = false;                           // weakest_over_strongest < kRidgeRatio
  static constexpr double kRidgeRatio = 0.01;
};

// Where a ridge leaves the answer open: the fit refitted at points along it. The ridge's weakest
// direction trades two parameters, A and B (its largest components, at least 0.2 each, one
// moving toward its speed of light while the other moves away: an efficiency toward 1, an
// overhead toward 0). Position 0 pins A at its speed-of-light value and refits the others (B
// takes up A's share); position 1 pins B there (A then sits at A_far); positions in between pin A
// at that fraction of the way from its speed-of-light value to A_far. A point is on the ridge
// when its refit converged with a training RMS log error within kRidgeTolerance of the
// optimum's: the training points cannot choose between it and the optimum, so the held-out
// errors of the points on the ridge are equally supported by them. They are samples: the
// held-out error between two of them can be lower or higher than at either.
struct RidgePoint {
  double position = 0;                                 // 0..1 as above
  std::string pinned;                                  // A, or B at position 1
  double pinned_value = 0;
  std::vector<std::pair<std::string, double>> values;  // the refitted parameters, by name
  double objective = 0;
  int evaluations = 0;
  bool converged = false;
  bool on_ridge = false;
  double heldout_aggregated_mape_gpu = 0, heldout_pd_mape_gpu = 0;  // percent; NaN when none held out
  static constexpr double kRidgeTolerance = 0.005;  // RMS log ratio: half a per cent
  static constexpr int kPoints = 5;                 // positions 0, 0.25, 0.5, 0.75, 1
};

struct FitResult {
  PerfParams start, fitted;
  std::vector<std::pair<std::string, double>> values;  // fitted, by name
  double objective = 0;
  int evaluations = 0;
  bool converged = false;
  Identifiability identifiability;
  // Refits along a ridge, by position; empty without a ridge, without held-out configurations,
  // or when the ridge cannot be explored (ridge_not_explored says why).
  std::vector<RidgePoint> ridge;
  std::string ridge_pair[2];  // A and B
  std::string ridge_not_explored;
  Comparison train, heldout;  // model (fitted) vs reference
  double heldout_aggregated_mape_gpu = 0, heldout_pd_mape_gpu = 0;  // percent; NaN when none held out
  // The aggregated held-out MAPE split by TP: (percent, configurations) per TP that has any. A
  // stack whose cost does not carry from one TP to another shows as one TP far off.
  std::map<int, std::pair<double, int>> heldout_aggregated_by_tp;
};

// Throws UsageError for more than four or unknown parameters, or training configurations the
// reference does not have.
FitResult fit_parameters(const ObservationSet& reference, const ModelSpec& m, const SystemProfile& prof,
                         const PerfParams& start, const FitSpec& spec);

// Simulates every (config, concurrency) of `want` with the given parameters.
ObservationSet simulate_observations(const ObservationSet& want, const ModelSpec& m, const SystemProfile& prof,
                                     const PerfParams& par, int64_t isl, int64_t osl,
                                     const std::vector<std::string>& only_configs, const StepScheme& scheme = {});

}  // namespace tpbench
