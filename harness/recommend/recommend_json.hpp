#pragma once
// The recommendation document (schema tpbench.recommendation/1, see
// results/schema/recommendation.schema.json): provenance as in a prediction document, the
// targets, every instance size tried, every layout's searched curve, the frontier, and the
// recommendation with its reasons and serving commands (or, when none meets the targets, the
// binding target and the closest layout).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/recommend/recommend.hpp"
#include "harness/recommend/serving_command.hpp"

namespace tpbench {

struct RecommendReport {
  std::vector<std::string> why;               // why_it_wins or why_none_meets
  std::vector<ServingCommand> serving;        // the winner's; empty when none meets
};

nlohmann::json recommendation_document(const RecommendSpec& s, const ModelSpec& m, const SystemProfile& prof,
                                       const PerfParams& par, const Recommendation& r, const RecommendReport& rep,
                                       const std::string& command_line);

}  // namespace tpbench
