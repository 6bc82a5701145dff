#pragma once
// The time of one engine step of a TP-N instance, priced from its plan's ops.
//
// The plan (tp, tp-sp or weight-gather, with its overlap mode) is built once for rank 0 with a
// few layers: that is the template. For an engine step, every op is re-sized to the step's work
// by the row rules the plan gave it (op_at) and priced on the system profile (price_op); the
// step's time is the critical path through the compute and communication streams, section by
// section as the backends run them (critical_path.hpp). Layers are identical, so the layers
// section is the template's, extended by its steady per-layer period to the model's layers.
// Rank 0 is priced: under tensor parallelism every rank does the same work, and under
// weight-gather rank 0 holds the largest block of requests.
//
// The profile's overheads (per step, per layer) and the parameters' serving-stack terms
// (step_overhead_s, per-TP overhead and scale) are added to the critical path.
#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "harness/model/model_spec.hpp"
#include "harness/perf/op_pricing.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/step_time_source.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/plan/plan.hpp"

namespace tpbench {

// How an instance executes its steps.
struct StepScheme {
  PlanKind plan = PlanKind::TP;
  Overlap overlap = Overlap::None;
  int split_chunks = 2;  // Overlap::Split
  int ep = 1;            // expert parallelism of MoE layers (StepConfig::ep)
};

// Op totals of a whole step (all layers) at some work, per GPU.
struct StepTotals {
  double flops = 0, weight_bytes = 0, kv_bytes = 0, hbm_bytes = 0;
  double collective_bytes = 0;  // sent into collectives by one rank
  std::array<double, kCollectiveKinds> collective_message_bytes{};  // indexed by size_t(CollectiveKind)
  int collectives = 0;
};

class StepCostModel : public StepTimeSource {
 public:
  // Throws UsageError when the plan cannot shard the model at this TP.
  StepCostModel(const ModelSpec& m, int tp, const SystemProfile& prof, const PerfParams& par, StepScheme scheme = {});
  StepCost step(const StepShape& s) const override;

  int tp() const { return tp_; }
  const ModelSpec& model() const { return m_; }
  const StepScheme& scheme() const { return scheme_; }
  // The template: rank 0's ops at template_layers() layers.
  const RankProgram& template_program() const { return tmpl_; }
  int64_t template_layers() const { return tmpl_layers_; }
  // Totals over the whole step (all the model's layers) at `w`, from the same ops the step is
  // priced from.
  StepTotals totals_at(const StepWork& w) const;
  // One op of this instance's plan, sized for a step (op_at), priced on the profile.
  OpPrice price(const Op& sized, const AttentionWork& attn = {}) const { return price_op(sized, attn, pricing()); }
  const SystemProfile& model_profile() const { return prof_; }
  // The critical path of the ops alone (no overheads, parameters at their defaults aside from
  // the efficiencies), at `w`: what a hand-built schedule is checked against.
  double ops_time_s(const StepWork& w) const;

 private:
  // What the ops that do not depend on attention cost at one step's rows, cached per rows key.
  struct RowTerms {
    std::vector<double> duration;  // per template op (attention ops: 0, priced per step)
    double gemm_s = 0, gemm_memory_s = 0, gemm_compute_s = 0, collective_s = 0, elementwise_s = 0;
    double serial_s = 0;           // sum over every non-attention op (whole step)
    StepTotals totals;             // without the attention ops' share
  };
  const RowTerms& row_terms(const StepWork& w) const;
  RowTerms compute_row_terms(const StepWork& w) const;
  double layers_scale(int op_index) const;  // how many times op i runs in the whole step
  double critical_path(const std::vector<double>& duration) const;
  PricingContext pricing() const;

  ModelSpec m_;
  int tp_;
  SystemProfile prof_;  // copies: a model must not outlive the profile it was built from
  PerfParams par_;
  StepScheme scheme_;
  RankProgram tmpl_;
  int64_t tmpl_layers_ = 0;
  // Per FFN kind (dense, MoE): the template's inner layer that stands for that kind's layers
  // beyond the template, and how many such layers there are.
  std::array<int, 2> rep_layer_{-1, -1};
  std::array<int64_t, 2> extra_layers_{0, 0};
  bool serial_ = true;          // every op on the compute stream: the critical path is the sum
  bool rows_by_tokens_ = true;  // every rule shares all sequences: rows depend on tokens and logits only
  std::vector<int> attention_ops_;
  // What the rows of a step depend on: tokens and logits rows, and, for rules that share
  // sequences out (split chunks, weight-gather's blocks), how many are decodes and prefills.
  // Compared whole: a hash alone would let two steps share one entry.
  struct RowKey {
    double tokens = 0, logits = 0, decode_seqs = 0, prefill_seqs = 0;
    bool operator==(const RowKey&) const = default;
  };
  struct RowKeyHash {
    size_t operator()(const RowKey& k) const;
  };
  RowKey row_key(const StepWork& w) const;
  mutable std::unordered_map<RowKey, RowTerms, RowKeyHash> cache_;  // used by one thread (see StepTimeSource)
};

}  // namespace tpbench
