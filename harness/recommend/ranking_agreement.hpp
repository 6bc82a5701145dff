#pragma once
// How well predicted curves rank configurations against measured ones: at each tok/s/user level
// where several configurations were measured, the configurations ordered by tok/s/GPU at that
// level, measured against predicted (Kendall's tau-b), and whether the predicted best is the
// measured best. A check against data the model was not fitted to: nothing here feeds back.
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tpbench {

// (tok/s/user, tok/s/GPU) points of one configuration, in any order.
using UserGpuCurve = std::vector<std::pair<double, double>>;

// tok/s/GPU at a tok/s/user level: log-log interpolation between the two points of the curve
// (sorted by tok/s/user) that bracket it; NaN outside the curve's range (never extrapolated) or
// for non-positive values.
double tokens_per_gpu_at(UserGpuCurve curve, double per_user);

// Kendall's tau-b of two equally long lists (ties in either list counted as neither concordant
// nor discordant, tau-b's normalisation); NaN with fewer than two items or all tied.
double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b);

struct LevelAgreement {
  double per_user = 0;
  std::vector<std::string> configs;         // measured and predicted at this level
  std::vector<double> measured, predicted;  // tok/s/GPU there, by config
  double tau = 0;
  std::string measured_best, predicted_best;
};

// The levels at which at least `min_configs` configurations have both curves covering the level.
std::vector<LevelAgreement> ranking_agreement(const std::map<std::string, UserGpuCurve>& measured,
                                              const std::map<std::string, UserGpuCurve>& predicted,
                                              const std::vector<double>& levels, size_t min_configs = 3);

// Levels on a 1-2-3-5-7 ladder per decade over the measured per-user range.
std::vector<double> per_user_levels(const std::map<std::string, UserGpuCurve>& measured);

}  // namespace tpbench
