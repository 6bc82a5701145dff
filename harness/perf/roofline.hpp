#pragma once
// Roofline step time of one engine iteration on a TP-N instance (per GPU; every rank does the
// same work). GEMMs: max(weights/N over HBM bandwidth, FLOPs/N over matrix throughput);
// decode attention streams the KV cache; prefill attention is compute; plus the collectives
// from the profile's size-aware tables and a per-step/per-layer overhead. Kernels run one
// after another (no overlap between GEMM, attention and collectives: vLLM serializes them).
#include <cstdint>

#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/system_profile.hpp"

namespace tpbench {

// What one iteration processes. Prefill attention work is counted in (query, key) pairs:
// a chunk of c tokens starting at position s attends to c*s + c(c+1)/2 keys in total.
struct StepShape {
  double decode_seqs = 0;        // decode tokens (one per running sequence)
  double decode_ctx_tokens = 0;  // sum over decode sequences of their context length
  double prefill_tokens = 0;     // prompt tokens in this step (chunked prefill)
  double prefill_attn_pairs = 0; // causal (query, key) pairs of the prefill chunks
  double logits = 0;             // rows through the LM head (decode + finishing prefills)
};

struct StepCost {
  double gemm_s = 0, gemm_memory_s = 0, gemm_compute_s = 0;
  double decode_attn_s = 0;   // KV streaming
  double prefill_attn_s = 0;
  double collective_s = 0;
  double overhead_s = 0;
  double total_s = 0;
  double weight_bytes = 0, kv_bytes = 0, flops = 0, collective_bytes = 0;  // per GPU
};

class RooflineModel {
 public:
  RooflineModel(const ModelSpec& m, int tp, const SystemProfile& prof, const PerfParams& par);
  StepCost step(const StepShape& s) const;
  int tp() const { return tp_; }
  const ModelSpec& model() const { return m_; }

 private:
  ModelSpec m_;
  int tp_;
  const SystemProfile* prof_;
  PerfParams par_;
  double streamed_weights_ = 0, layer_flops_per_token_ = 0, head_flops_per_row_ = 0;
  double kv_per_token_ = 0, attn_flops_per_pair_ = 0;
};

}  // namespace tpbench
