#pragma once
// Why a layout of a mixture-of-experts model wins, in expert-parallel terms: at each compared
// layout's mean decode batch, how many of its experts one GPU holds and touches per decode step,
// the weight bytes that step streams (experts and the rest), the all-to-all time EP adds, and the
// weights each GPU holds (what is left of its memory holds KV).
#include <string>
#include <vector>

#include "harness/recommend/recommend.hpp"

namespace tpbench {

// One decode step of a pool of `layout` at a mean batch of `batch` sequences of `context`
// positions, per GPU (rank 0).
struct ExpertStepFacts {
  int tp = 0, ep = 1;
  double batch = 0;
  double experts_held = 0;      // routed experts per MoE layer whose weights (or a slice) the GPU holds
  double experts_touched = 0;   // of those, expected to receive a token in the step (uniform routing)
  double expert_weight_bytes = 0;  // routed and shared experts' weights streamed, all layers
  double weight_bytes = 0;         // every weight streamed in the step, all layers
  double all_to_all_s = 0;         // dispatch and return, all MoE layers
  double step_s = 0;               // the step's priced time
  double resident_weight_bytes = 0;  // weights the GPU holds
};
ExpertStepFacts expert_step_facts(const ModelSpec& m, const SystemProfile& prof, const PerfParams& par,
                                  const StepScheme& scheme, int tp, int ep, double batch, double context);

// Sentences for the winner and runner-up (empty for a dense model).
std::vector<std::string> why_experts(const Recommendation& r, const ModelSpec& m, const SystemProfile& prof,
                                     const PerfParams& par, const RecommendSpec& s);

}  // namespace tpbench
