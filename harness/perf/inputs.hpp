#pragma once
// Shared option handling of the perf commands: model choice and NAME=VALUE parameter overrides.
#include <string>
#include <vector>

#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/step_cost_model.hpp"

namespace tpbench {

// --model-config wins over --model; --weight-dtype and --kv-dtype ("bf16" | "fp8"; empty: the
// model's own, BF16 for presets, a config's quantization_config) override its precision.
// Validates the spec. Throws UsageError.
ModelSpec select_model(const std::string& preset, const std::string& config_path, const std::string& weight_dtype = "",
                       const std::string& kv_dtype = "");
// Applies "name=value" strings (names from perf_param_defs()). Throws UsageError.
void apply_overrides(PerfParams& p, const std::vector<std::string>& assignments);
// --plan, --overlap and --split-chunks of the perf commands (split: the tp plan only, as the
// plans define it). Throws UsageError.
StepScheme parse_scheme(const std::string& plan, const std::string& overlap, int split_chunks);

}  // namespace tpbench
