#pragma once
// Where the serving simulator's engine gets the time of one iteration. Two implementations:
// the plan's ops priced on a system profile (StepCostModel) and measured sweep tables with a
// per-phase roofline fallback (PhasedStepSource over MeasuredStepTimes). The engine only sees
// this interface, so both run through the same scheduler.
#include "harness/plan/step_work.hpp"

namespace tpbench {

// What one iteration processes: the step's work, the variables every op of a plan is sized by.
using StepShape = StepWork;

struct StepCost {
  double gemm_s = 0, gemm_memory_s = 0, gemm_compute_s = 0;
  double decode_attn_s = 0;   // KV streaming
  double prefill_attn_s = 0;
  double collective_s = 0;           // busy time of the collectives
  double exposed_collective_s = 0;   // of the step's time: what the collectives add to the critical path
  double elementwise_s = 0;          // norms, activations, residual adds, copies
  double overhead_s = 0;
  // Time taken whole from a measured sweep: a measured step is not split into GEMM, attention
  // and collectives (the sweep's own breakdown is per op, not per engine step).
  double measured_s = 0;
  bool outside_measured = false;  // a measured lookup was clamped or extrapolated
  double total_s = 0;
  double weight_bytes = 0, kv_bytes = 0, flops = 0, collective_bytes = 0;  // per GPU
};

// step() is const but not thread-safe: a source may cache what it computed (StepCostModel
// keeps its ops' prices per row count). Give each thread its own source; the simulator builds one
// per point.
class StepTimeSource {
 public:
  virtual ~StepTimeSource() = default;
  virtual StepCost step(const StepShape& s) const = 0;
};

}  // namespace tpbench
