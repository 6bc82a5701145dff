#include "harness/sweep/point.hpp"

#include "harness/common/enum_names.hpp"

namespace tpbench {

const char* point_status_name(PointStatus s) {
  switch (s) {
    case PointStatus::Ok: return "ok";
    case PointStatus::NotRunnable: return "not_runnable";
    case PointStatus::Failed: return "failed";
  }
  return "?";
}

PointStatus parse_point_status(const std::string& s) {
  return parse_enum_name(s, kAllPointStatuses, point_status_name, "point status");
}

double Point::tokens_per_s_per_user() const {
  if (status != PointStatus::Ok || step.median <= 0) return 0;
  return double(config.new_tokens()) / step.median;
}

double Point::tokens_per_s_per_gpu() const {
  if (status != PointStatus::Ok || step.median <= 0) return 0;
  return tokens_per_step() / (step.median * double(config.tp));
}

namespace {
nlohmann::json optional_number(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json to_json(const Point& p) {
  const StepConfig& c = p.config;
  nlohmann::json j = {
      {"plan", plan_name(c.plan)},
      {"overlap", overlap_name(c.overlap)},
      {"phase", phase_name(c.phase)},
      {"tp", c.tp},
      {"ep", c.ep},
      {"batch", c.batch},
      {"context", c.context},
      {"new_tokens", c.new_tokens()},
      {"layers_run", p.layers_run},
      {"layers_total", p.layers_total},
      {"emulated", p.emulated},
      {"oversubscribed", p.oversubscribed},
      {"status", point_status_name(p.status)},
  };
  if (p.emulated) j["overlap_optimistic"] = p.overlap_optimistic;
  if (!p.reason.empty()) j["reason"] = p.reason;
  if (!p.kernels.is_null()) j["kernels"] = p.kernels;
  if (!p.telemetry_before.is_null() || !p.telemetry_after.is_null())
    j["telemetry"] = {{"before", p.telemetry_before}, {"after", p.telemetry_after}, {"throttled", p.throttled}};
  j["verified"] = p.verified ? nlohmann::json(*p.verified) : nlohmann::json(nullptr);
  if (p.verified) j["verify"] = {{"rel_l2_error", p.verify_rel_l2}, {"tolerance", p.verify_tolerance}};
  if (!p.verify_skipped.empty()) j["verify_skipped"] = p.verify_skipped;
  if (p.collectives_exact) j["collectives_exact"] = *p.collectives_exact;
  if (p.status != PointStatus::Ok) return j;

  const Summary& s = p.step;
  j["step_time_s"] = {{"median", s.median}, {"p10", s.p10}, {"p90", s.p90}, {"mean", s.mean},
                      {"stdev", s.stdev}, {"min", s.min}, {"max", s.max}, {"count", s.count},
                      {"rel_spread", s.rel_spread}, {"converged", p.converged}};
  j["layers_time_s"] = p.layers_median_s;
  j["head_time_s"] = p.head_median_s;
  if (c.phase == Phase::Decode) j["tpot_s"] = s.median;
  else j["ttft_s"] = s.median;
  j["tokens_per_s_per_user"] = p.tokens_per_s_per_user();
  j["tokens_per_s_per_gpu"] = p.tokens_per_s_per_gpu();
  const Breakdown& b = p.breakdown;
  j["breakdown"] = {{"weight_bytes", b.weight_bytes},
                    {"kv_bytes", b.kv_bytes},
                    {"hbm_bytes", b.hbm_bytes},
                    {"flops", b.flops},
                    {"collective_bytes_per_rank", b.collective_bytes_per_rank},
                    {"memory_per_rank_bytes", b.memory_per_rank_bytes},
                    {"gemm_s", b.gemm_s},
                    {"attention_s", b.attention_s},
                    {"collective_s", b.collective_s},
                    {"other_s", b.other_s},
                    {"sum_of_ops_s", b.sum_of_ops_s},
                    {"collective_source", b.collectives_from_profile ? "profile" : "measured"},
                    {"step_over_sum_of_ops", b.sum_of_ops_s > 0 ? s.median / b.sum_of_ops_s : 0.0},
                    {"compute_only_s", optional_number(b.compute_only_s)},
                    {"comm_only_s", optional_number(b.comm_only_s)},
                    {"exposed_collective_s", optional_number(b.exposed_collective_s)},
                    {"achieved_hbm_bytes_per_s", b.achieved_hbm_bytes_per_s},
                    {"achieved_flops_per_s", b.achieved_flops_per_s}};
  return j;
}

}  // namespace tpbench
