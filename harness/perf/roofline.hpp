#pragma once
#include <cstdint>
#include <unordered_map>
// Roofline step time of one engine iteration on a TP-N instance (per GPU; every rank does the
// same work). GEMMs: max(weights/N over HBM bandwidth, FLOPs/N over matrix throughput);
// decode attention streams the KV cache; prefill attention is compute; plus the collectives
// from the profile's size-aware tables and a per-step/per-layer overhead. Kernels run one
// after another (no overlap between GEMM, attention and collectives: vLLM serializes them).
#include <cstdint>

#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/step_time_source.hpp"
#include "harness/perf/system_profile.hpp"

namespace tpbench {

class RooflineModel : public StepTimeSource {
 public:
  RooflineModel(const ModelSpec& m, int tp, const SystemProfile& prof, const PerfParams& par);
  StepCost step(const StepShape& s) const override;
  int tp() const { return tp_; }
  const ModelSpec& model() const { return m_; }

 private:
  ModelSpec m_;
  int tp_;
  SystemProfile prof_;  // a copy: a model must not outlive the profile it was built from
  PerfParams par_;
  // The parts of a step that depend only on its token and logits counts (log-size table
  // lookups: the simulator's hot spot), kept per (tokens, logits). A model is used by one thread.
  struct TokenTerms {
    double gemm_fraction = 0, collective_s = 0, collective_bytes = 0;
  };
  TokenTerms token_terms(double tokens, double logits) const;
  TokenTerms compute_token_terms(double tokens, double logits) const;
  mutable std::unordered_map<uint64_t, TokenTerms> token_cache_;
  double streamed_weights_ = 0, layer_flops_per_token_ = 0, head_flops_per_row_ = 0;
  double kv_per_token_ = 0, attn_flops_per_pair_ = 0;
};

}  // namespace tpbench
