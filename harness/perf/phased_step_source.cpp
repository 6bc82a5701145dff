#include "harness/perf/phased_step_source.hpp"

namespace tpbench {

PhasedStepSource::PhasedStepSource(const StepCostModel* cost_model, const MeasuredStepTimes* measured,
                                   double step_overhead_s, double step_time_scale)
    : cost_model_(cost_model),
      measured_(measured),
      overhead_s_(step_overhead_s),
      scale_(step_time_scale),
      tp_(cost_model->tp()),
      measured_decode_(measured && measured->has_decode(tp_)),
      measured_prefill_(measured && measured->has_prefill(tp_)) {}

StepCost PhasedStepSource::step(const StepShape& s) const {
  if (s.decode_seqs + s.prefill_tokens <= 0) return {};
  const bool has_prefill = s.prefill_tokens > 0;
  if (has_prefill ? !measured_prefill_ : !measured_decode_) return cost_model_->step(s);
  const double mean_ctx = s.decode_seqs > 0 ? s.decode_ctx_tokens / s.decode_seqs : 0.0;
  StepCost c;
  Lookup l;
  if (!has_prefill) {
    l = measured_->decode_s(tp_, s.decode_seqs, mean_ctx);
  } else {
    l = measured_->prefill_s(tp_, s.prefill_tokens + s.decode_seqs);
    if (s.decode_seqs > 0) {
      if (measured_decode_) {
        c.decode_attn_s = measured_->decode_context_slope(tp_, s.decode_seqs) * mean_ctx * scale_;
      } else {  // the roofline's time carries the scale already
        StepShape d;
        d.decode_seqs = s.decode_seqs;
        d.decode_ctx_tokens = s.decode_ctx_tokens;
        d.logits = s.decode_seqs;
        c.decode_attn_s = cost_model_->step(d).decode_attn_s;
      }
    }
  }
  c.measured_s = l.value_s * scale_;
  c.outside_measured = l.outside;
  c.overhead_s = overhead_s_;
  c.total_s = c.measured_s + c.decode_attn_s + c.overhead_s;
  return c;
}

}  // namespace tpbench
