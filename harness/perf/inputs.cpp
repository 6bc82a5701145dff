#include "harness/perf/inputs.hpp"

#include <cmath>

#include "harness/common/error.hpp"
#include "harness/common/parse_number.hpp"

namespace tpbench {

ModelSpec select_model(const std::string& preset, const std::string& config_path, const std::string& weight_dtype,
                       const std::string& kv_dtype) {
  ModelSpec m = config_path.empty() ? preset_model(preset) : model_from_hf_config(config_path);
  if (!weight_dtype.empty()) m.weight_dtype = parse_storage_dtype(weight_dtype, "--weight-dtype");
  if (!kv_dtype.empty()) m.kv_dtype = parse_storage_dtype(kv_dtype, "--kv-dtype");
  m.validate();
  return m;
}

void apply_overrides(PerfParams& p, const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) {
    const auto eq = a.find('=');
    if (eq == std::string::npos) throw UsageError("bad --set '" + a + "' (expected NAME=VALUE)");
    const std::string name = a.substr(0, eq), val = a.substr(eq + 1);
    const std::optional<double> parsed = parse_finite_double(val);
    if (!parsed) throw UsageError("bad --set '" + a + "': value is not a number");
    const double v = *parsed;
    set_param(p, name, v);
  }
}

StepScheme parse_scheme(const std::string& plan, const std::string& overlap, int split_chunks) {
  StepScheme s;
  s.plan = parse_plan(plan);
  s.overlap = parse_overlap(overlap);
  s.split_chunks = split_chunks;
  if (split_chunks < 1 || split_chunks > 64) throw UsageError("--split-chunks must be in 1..64");
  if (s.overlap == Overlap::Split && s.plan != PlanKind::TP)
    throw UsageError(std::string("overlap 'split' is defined for the tp plan only (got plan '") + plan_name(s.plan) + "')");
  return s;
}

}  // namespace tpbench
