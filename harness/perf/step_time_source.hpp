#pragma once
// Where the serving simulator's engine gets the time of one iteration. Two implementations:
// the roofline (RooflineModel, from a system profile) and measured sweep tables with a
// per-phase roofline fallback (PhasedStepSource over MeasuredStepTimes). The engine only sees
// this interface, so both run through the same scheduler.
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
  // Time taken whole from a measured sweep: a measured step is not split into GEMM, attention
  // and collectives (the sweep's own breakdown is per op, not per engine step).
  double measured_s = 0;
  bool outside_measured = false;  // a measured lookup was clamped or extrapolated
  double total_s = 0;
  double weight_bytes = 0, kv_bytes = 0, flops = 0, collective_bytes = 0;  // per GPU
};

// step() is const but not thread-safe: a source may cache what it computed (RooflineModel
// keeps its per-token-count terms). Give each thread its own source; the simulator builds one
// per point.
class StepTimeSource {
 public:
  virtual ~StepTimeSource() = default;
  virtual StepCost step(const StepShape& s) const = 0;
};

}  // namespace tpbench
