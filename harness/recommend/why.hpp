#pragma once
// Why a recommended layout wins, in the terms `tpbench explain` uses: where each GPU-millisecond
// of an output token goes (weight stream, KV reads, collectives, prefill compute, elementwise
// work, per-step overhead, idle), how many requests the KV cache has room for, how long requests
// queue, and which target stops the concurrency from rising further.
#include <string>
#include <vector>

#include "harness/recommend/recommend.hpp"

namespace tpbench {

// GPU-milliseconds per output token over `gpus` GPUs (0: the layout's own; both pools of a PD
// layout): GPUs given but left out of the layout count as idle.
struct LayoutTokenBudget {
  double weights = 0, prefill_compute = 0, kv = 0, collectives = 0, elementwise = 0, overhead = 0, idle = 0;
  double total = 0;  // 1000 x gpus / output tok/s; the parts above add up to it
};
LayoutTokenBudget layout_token_budget(const ServingPoint& p, int gpus = 0);

// Names of the budget's parts, in the order budget_parts() lists them.
std::vector<std::string> budget_part_names();
std::vector<double> budget_parts(const LayoutTokenBudget& b);

// Sentences, one per line, for the winner against the runner-up (or alone).
std::vector<std::string> why_it_wins(const Recommendation& r, const Targets& t, int gpus, int max_concurrency);
// Sentences for the case where no layout meets the targets: the binding target and the closest layout.
std::vector<std::string> why_none_meets(const Recommendation& r, const Targets& t);

}  // namespace tpbench
