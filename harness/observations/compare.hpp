#pragma once
// Reference (measured) vs model points: absolute percentage errors per point, MAPE per
// configuration and overall, and measured / predicted per configuration: against a
// speed-of-light prediction that ratio is the serving stack's efficiency.
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/observations/observations.hpp"
#include "harness/report/table.hpp"

namespace tpbench {

struct PointError {
  std::string config;
  int concurrency = 0;
  double ref_gpu = 0, model_gpu = 0, ref_user = 0, model_user = 0;
  double ape_gpu = 0, ape_user = 0;  // percent
};

struct ConfigError {
  std::string config;
  int points = 0;
  double mape_gpu = 0, mape_user = 0;  // percent
  double efficiency_gpu = 0;           // mean of ref / model tok/s/GPU
};

struct Comparison {
  std::string reference, model;
  PerUserMetric per_user_def = PerUserMetric::OutDivConc;
  std::string reference_selection, model_selection;  // a sweep's plan/overlap/context ("" otherwise)
  std::vector<PointError> points;
  std::vector<ConfigError> configs;
  double mape_gpu = 0, mape_user = 0;  // percent, over all matched points
  std::vector<std::string> unmatched;  // reference points without a model point
  // Reference points whose model point cannot run ("config @C: reason"); not in the MAPE.
  std::vector<std::string> not_runnable;
};

// Mean absolute percentage error of model vs reference values, in percent (tested directly).
double mape_percent(const std::vector<double>& reference, const std::vector<double>& model);

// Matches points by (config, concurrency). per_user_def: none = the reference's own definition.
// Throws UsageError when nothing matches.
Comparison compare_observations(const ObservationSet& ref, const ObservationSet& model,
                                std::optional<PerUserMetric> per_user_def);
// The same with the definition as --per-user gives it: "" = the reference's own, else its name.
Comparison compare_observations(const ObservationSet& ref, const ObservationSet& model, const std::string& per_user_def);

// MAPE of tok/s/GPU over the configurations accepted by `keep` (percent; NaN when none).
template <class Pred>
double mape_gpu_where(const Comparison& c, Pred keep) {
  std::vector<double> r, m;
  for (const auto& p : c.points)
    if (keep(p.config)) { r.push_back(p.ref_gpu); m.push_back(p.model_gpu); }
  return r.empty() ? std::numeric_limits<double>::quiet_NaN() : mape_percent(r, m);
}

nlohmann::json comparison_to_json(const Comparison& c, bool flag_above_model = true);
// flag_above_model: list reference points more than 5 % above the model (meaningful when the
// model is the speed of light, not after a fit).
std::string comparison_table(const Comparison& c, bool per_point, bool flag_above_model = true);
// The same tables for any format: MAPE per configuration and overall, then (per_point) every point.
std::vector<Table> comparison_tables(const Comparison& c, bool per_point);

}  // namespace tpbench
