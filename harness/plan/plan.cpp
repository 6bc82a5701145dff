#include "harness/plan/plan.hpp"

#include "harness/common/error.hpp"

namespace tpbench {

namespace {

// Expert parallelism: ep groups of tp/ep ranks, each expert's matrices sharded over its group.
void validate_experts(const ModelSpec& m, const StepConfig& c) {
  const std::string layout = "TP" + std::to_string(c.tp) + " EP" + std::to_string(c.ep);
  if (c.ep < 1) throw UsageError("EP must be positive (got " + std::to_string(c.ep) + ")");
  if (!m.has_moe_layers()) {
    if (c.ep != 1)
      throw UsageError("expert parallelism (EP" + std::to_string(c.ep) + ") needs a model with mixture-of-experts "
                       "layers; model '" + m.name + "' is dense");
    return;
  }
  if (c.plan != PlanKind::TP)
    throw UsageError(std::string("mixture-of-experts layers run under the tp plan only (got plan '") +
                     plan_name(c.plan) + "')");
  if (c.overlap == Overlap::Split)
    throw UsageError("overlap 'split' is not defined for mixture-of-experts layers (use none or streams)");
  if (m.moe.shared_expert_gate)
    throw UsageError("model '" + m.name + "': the shared-expert gate (shared_expert_gate) is not modelled by the plans");
  auto fail = [&](const std::string& why) { throw UsageError(layout + " cannot shard model '" + m.name + "': " + why); };
  if (c.tp % c.ep != 0) fail("EP must divide TP (experts are spread over EP groups of TP/EP ranks)");
  const int group = c.tp / c.ep;
  if (m.moe.experts % c.ep != 0) fail("EP does not divide the " + std::to_string(m.moe.experts) + " experts");
  if (m.moe.expert_intermediate % group != 0)
    fail("TP/EP = " + std::to_string(group) + " does not divide the expert width " +
         std::to_string(m.moe.expert_intermediate));
  const int64_t shared = m.moe.shared_experts * m.moe.shared_intermediate;
  if (c.ep == 1 && shared % c.tp != 0)
    fail("TP does not divide the shared experts' width " + std::to_string(shared));
}

}  // namespace

void validate_config(const ModelSpec& m, const StepConfig& c) {
  m.validate();
  if (c.tp <= 0) throw UsageError("TP must be positive (got " + std::to_string(c.tp) + ")");
  validate_experts(m, c);
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
