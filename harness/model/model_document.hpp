#pragma once
// The model block of every document tpbench writes (sweep, predict, recommend, models --json):
// the config.json fields under their Hugging Face names, so that the measured step-time reader
// can check a sweep's model field by field, and the counts derived from them.
// results/schema/model.schema.json describes it.
#include <nlohmann/json.hpp>

#include "harness/model/model_spec.hpp"

namespace tpbench {

nlohmann::json model_to_json(const ModelSpec& m);

}  // namespace tpbench
