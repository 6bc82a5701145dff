#include "harness/plan/plan.hpp"

#include "harness/common/error.hpp"

namespace tpbench {

void validate_config(const ModelSpec& m, const StepConfig& c) {
  m.validate();
  require_dense_layers(m);  // every plan (and the cost model, built on them) is of dense layers
  if (c.tp <= 0) throw UsageError("TP must be positive (got " + std::to_string(c.tp) + ")");
  if (c.plan != PlanKind::WeightGather) validate_tp(m, c.tp);
  if (c.batch <= 0) throw UsageError("batch must be positive (got " + std::to_string(c.batch) + ")");
  if (c.context <= 0) throw UsageError("context must be positive (got " + std::to_string(c.context) + ")");
  if (c.chunk < 0 || c.new_tokens() > c.context)
    throw UsageError("prefill chunk " + std::to_string(c.chunk) + " exceeds the context " +
                     std::to_string(c.context));
  if (c.layers < 0 || c.layers > m.layers)
    throw UsageError("--layers " + std::to_string(c.layers) + " is outside 1.." + std::to_string(m.layers) +
                     " for model '" + m.name + "'");
  if (c.overlap == Overlap::Split && c.plan != PlanKind::TP)
    throw UsageError(std::string("overlap 'split' is defined for the tp plan only (got plan '") +
                     plan_name(c.plan) + "')");
  if (c.split_chunks < 1) throw UsageError("split chunks must be at least 1");
}

StepProgram build_program(const ModelSpec& model, const StepConfig& config) {
  validate_config(model, config);
  StepProgram p;
  p.model = model;
  p.config = config;
  p.layers_run = config.layers > 0 ? config.layers : model.layers;
  p.ranks.resize(config.tp);
  for (int r = 0; r < config.tp; ++r) {
    p.ranks[r].rank = r;
    switch (config.plan) {
      case PlanKind::TP: detail::build_tp_rank(model, config, p.layers_run, false, p.ranks[r]); break;
      case PlanKind::TPSP: detail::build_tp_rank(model, config, p.layers_run, true, p.ranks[r]); break;
      case PlanKind::WeightGather:
        detail::build_weight_gather_rank(model, config, p.layers_run, p.ranks[r]);
        break;
    }
  }
  check_program(p);
  return p;
}

}  // namespace tpbench
