#pragma once
// Runs the simulator over layouts x concurrencies (what predict, compare, fit and explain share).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/sim/serving_sim.hpp"

namespace tpbench {

struct GridSpec {
  std::vector<Layout> layouts;
  std::vector<int> concurrency;
  int64_t isl = 10000, osl = 1000;
  int prompts_per_user = 10;
  double kv_link_bandwidth = 0;  // <= 0: the profile's
  StepScheme scheme;                            // plan and overlap of every instance
  const MeasuredStepTimes* measured = nullptr;  // step-time tables from sweeps; null: the cost model
};

std::vector<ServingPoint> simulate_grid(const GridSpec& g, const ModelSpec& m, const SystemProfile& prof,
                                        const PerfParams& par);

// The prediction document (schema tpbench.prediction/1, see results/schema/prediction.schema.json).
nlohmann::json prediction_document(const GridSpec& g, const ModelSpec& m, const SystemProfile& prof,
                                   const PerfParams& par, const std::vector<ServingPoint>& points,
                                   const std::string& command_line);

// Parses "1,8,32": positive integers; throws UsageError.
std::vector<int> parse_int_list(const std::string& s, const char* what);

}  // namespace tpbench
