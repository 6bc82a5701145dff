#pragma once
// JSON form of a simulated serving point: the metric names of docs/architecture.md plus the breakdown
// explain needs (per pool: time shares, mean decode batch, KV capacity, KV-blocked time).
#include <nlohmann/json.hpp>

#include "harness/sim/serving_sim.hpp"

namespace tpbench {

nlohmann::json point_to_json(const ServingPoint& p);

}  // namespace tpbench
