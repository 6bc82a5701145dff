#pragma once
// The step time of one TP-N engine taken per phase from measured sweep tables where they cover
// that TP and phase, and from the cost model (the plan's ops priced on the profile's roofline,
// "roofline" in the documents) otherwise (a sweep may hold decode points only, or
// miss a TP). How a step is costed:
//   pure decode   : measured decode(tp, batch, mean context), or the roofline;
//   with prefill  : with measured prefill, prefill(prompt tokens + decode tokens) (one forward
//                   pass over all of them: the GEMMs see the sum) plus the decodes' KV
//                   streaming (measured context slope x mean context, or the roofline's
//                   decode-attention time); with roofline prefill, the roofline's whole step.
// The serving stack's per-step overhead (PerfParams::step_overhead_s, 0 by default) is added
// to measured steps too, after the measured time is scaled by the stack's step-time scale
// (step_time_scale_tp<n>, 1 by default): a sweep times the bare step, not the scheduler around
// it. Roofline steps carry both already (the roofline applies its PerfParams).
#include <string>

#include "harness/perf/measured_step_times.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/perf/step_time_origin.hpp"

namespace tpbench {

class PhasedStepSource : public StepTimeSource {
 public:
  // `measured` may be null (all roofline); both pointers must outlive this object.
  PhasedStepSource(const StepCostModel* cost_model, const MeasuredStepTimes* measured, double step_overhead_s,
                   double step_time_scale = 1.0);
  StepCost step(const StepShape& s) const override;

  // Measured or Roofline, per phase; emulated: the measured points used were emulated.
  StepTimeOrigin decode_origin() const { return measured_decode_ ? StepTimeOrigin::Measured : StepTimeOrigin::Roofline; }
  StepTimeOrigin prefill_origin() const { return measured_prefill_ ? StepTimeOrigin::Measured : StepTimeOrigin::Roofline; }
  bool decode_emulated() const { return measured_decode_ && measured_->decode_emulated(tp_); }
  bool prefill_emulated() const { return measured_prefill_ && measured_->prefill_emulated(tp_); }

 private:
  const StepCostModel* cost_model_;
  const MeasuredStepTimes* measured_;
  double overhead_s_;
  double scale_;
  int tp_;
  bool measured_decode_, measured_prefill_;
};

}  // namespace tpbench
