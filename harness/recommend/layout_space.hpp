#pragma once
// The deployments `tpbench recommend` weighs for N GPUs: aggregated kR-TPn and disaggregated
// aP-TPx bD-TPy, each instance inside one NVLink domain, each instance able to hold the
// weights and at least one request's KV cache.
//
// For a model with mixture-of-experts layers an instance size is a (TP, EP) pair: every EP that
// divides both TP and the expert count (EP1: each expert sharded over the TP ranks; EP = TP:
// whole experts on each GPU), so the layouts span TP8, TP8EP2, TP8EP4, TP8EP8, ... A dense
// model has EP1 only.
#include <cstdint>
#include <string>
#include <vector>

#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/sim/layout.hpp"

namespace tpbench {

// One instance's parallelism: TP group size and expert parallelism within it.
struct InstanceSize {
  int tp = 0;
  int ep = 1;
  InstanceSize() = default;
  InstanceSize(int tp_size, int ep_size = 1) : tp(tp_size), ep(ep_size) {}  // NOLINT: a TP alone is EP1
  std::string name() const;  // "TP8", "TP8EP4"
  auto operator<=>(const InstanceSize&) const = default;
};

// Instance sizes that can run, by role.
struct InstanceSizes {
  std::vector<InstanceSize> serving;  // holds the weights and one ISL+OSL sequence: replicas, decode instances
  std::vector<InstanceSize> prefill;  // holds the weights and one ISL-token prompt: prefill instances
};

// Every layout of at most `gpus` GPUs that uses them fully in its own terms, ascending:
//  - kR-TPn for each n in sizes.serving, k = floor(gpus / n): as many replicas as fit (k
//    replicas at C serve like one at C / k, so fewer replicas only repeat the same curve);
//  - with `disaggregated`, aP-TPx bD-TPy for x in sizes.prefill, y in sizes.serving, a, b >= 1,
//    a x + b y <= gpus, and neither pool able to take one more instance within `gpus`.
// Aggregated layouts come first by (TP, EP), then PD by (x, y, a). Pure: no model, no profile.
std::vector<Layout> enumerate_layouts(int gpus, const InstanceSizes& sizes, bool disaggregated = true);

// Whether one instance of TP `tp` (EP `ep`) can run the model on the profile, and if not why.
struct SizeCheck {
  int tp = 0;
  int ep = 1;
  bool serves = false;    // weights + one ISL+OSL sequence fit
  bool prefills = false;  // weights + one ISL prompt fit
  int64_t kv_tokens = 0;  // KV tokens one instance holds
  std::string reason;     // why it cannot serve (empty when it can)
};

// Checks TP = 1 .. max_tp: the plan must shard the model (validate_tp), the profile must have
// a collective table for a group that large (a larger group would be priced with a smaller
// group's table: refused rather than approximated), and the memory must hold the weights plus
// one request's KV (kv_capacity, as the simulator sizes it). A model with MoE layers is checked
// at every EP dividing both TP and its expert count (the plan's own checks on the experts' widths
// apply), ascending by (TP, EP).
std::vector<SizeCheck> check_instance_sizes(const ModelSpec& m, const SystemProfile& prof, const PerfParams& par,
                                            const StepScheme& scheme, int64_t isl, int64_t osl, int max_tp);
InstanceSizes usable_sizes(const std::vector<SizeCheck>& checks);

// The NVLink domain the profile describes: the largest group of its all_reduce table (1 when
// it has none).
int profile_nvlink_domain(const SystemProfile& prof);

}  // namespace tpbench
