#pragma once
// The markdown of `tpbench explain`: tables of the per-point breakdown (explain_report.cpp) and
// the answers to the three questions with their numbers (explain_answers.cpp).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "harness/observations/observations.hpp"
#include "harness/model/model_spec.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/sim/grid.hpp"
#include "harness/sim/serving_sim.hpp"

namespace tpbench {

struct ExplainInputs {
  SystemProfile profile;
  ModelSpec model;
  ObservationSet reference;  // llm-d CSV
  int64_t isl = 10000, osl = 1000;
  StepScheme scheme;         // plan and overlap of every simulated instance
  std::string plot_png;      // relative path of the Pareto plot to embed; empty: none
  LatencyTable latency;      // measured TPOT/TTFT (read_latency_csv); empty: none given
};

using RefIndex = std::map<std::pair<std::string, int>, const Observation*>;

// The speed-of-light grid the report discusses: every configuration and concurrency of the
// reference, simulated with default parameters (nothing taken from the reference).
GridSpec explain_grid(const ExplainInputs& in);
std::string explain_markdown(const ExplainInputs& in, const std::vector<ServingPoint>& grid_points);
// Simulates explain_grid(in) first.
std::string explain_markdown(const ExplainInputs& in);
std::string explain_answers(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref);
// Question 2 in depth: GPU time per token on TP4 vs TP8, how firm the order is under the
// profile's input ranges, the stack's per-step cost by TP at C=1, and the ordering with it
// (explain_tp_ordering.cpp).
std::string explain_tp_ordering(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref);
// Question 2: each TP's stack cost (a per step, k per unit of work) fitted to llm-d's TPOT at every
// concurrency, and every aggregated configuration simulated again with it; empty without
// --latency (explain_stack_cost.cpp).
std::string explain_stack_cost(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref);
// Question 2: the TP4 / TP8 / TP2 order under each profile input moved across its sourced range
// (explain_order_sensitivity.cpp).
std::string explain_order_sensitivity(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref);
// Weight-gather with prefetch against Megatron TP at the reference's scale,
// step by step (weights read, gathered bytes, exposed communication, requests per rank) and
// served (explain_weight_gather.cpp).
std::string explain_weight_gather(const ExplainInputs& in);
// Reference points faster than the speed of light, and what they would need from the hardware
// if they ran as labelled (explain_consistency.cpp).
std::string explain_above_speed_of_light(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref);
// At each tok/s/user level where three or more reference configurations were measured: the
// predicted order of those configurations by tok/s/GPU against the measured one (Kendall's tau,
// same best) (explain_ranking.cpp).
std::string explain_ranking_agreement(const ExplainInputs& in, const std::vector<ServingPoint>& pts);
// Every PD reference point with a TPOT (--latency): the requests its decode pool must have held by
// Little's law against what its KV cache can hold, and the predicted TPOT beside llm-d's
// (explain_consistency.cpp); empty without --latency.
std::string explain_pd_littles_law(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref);
// The PD points above the speed of light, priced again with an FP8 KV cache: which it would
// explain (llm-d within 5 % of the FP8-KV prediction) and why not the others (prefill compute,
// the decode pool's HBM bound); empty when the model's KV cache is not BF16
// (explain_consistency.cpp).
std::string explain_pd_fp8_kv(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref);

}  // namespace tpbench
