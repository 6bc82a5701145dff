#pragma once
// The JSON form of a model's parts that documents share.
#include <nlohmann/json.hpp>

#include "harness/model/model_spec.hpp"

namespace tpbench {

// A mixture-of-experts model's experts and which layers have them: {"routed", "per_token",
// "intermediate_size", "shared", "shared_intermediate_size", "moe_layers" (how many),
// "moe_layer_list" (which)}.
nlohmann::json moe_to_json(const ModelSpec& m);

}  // namespace tpbench
