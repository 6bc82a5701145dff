#include "harness/sim/point_json.hpp"

#include <algorithm>

namespace tpbench {
namespace {

nlohmann::json pool_json(const PoolReport& r) {
  const EngineStats& s = r.stats;
  const double busy = s.busy_s > 0 ? s.busy_s : 1.0;
  nlohmann::json j;
  j["tp"] = r.tp;
  j["ep"] = r.ep;
  j["instances"] = r.instances;
  j["kv_tokens_per_instance"] = r.kv_tokens;
  j["kv_max_sequences_per_instance"] = r.kv_max_sequences;
  j["busy_s"] = s.busy_s;
  j["steps"] = s.steps;
  j["mean_step_s"] = s.steps > 0 ? s.busy_s / s.steps : 0.0;
  j["mean_decode_batch"] = s.busy_s > 0 ? s.decode_seq_s / s.busy_s : 0.0;
  j["kv_blocked_fraction"] = s.kv_blocked_s / busy;
  j["kv_stalled_s"] = s.kv_stalled_s;
  j["time_fraction"] = {{"weights_streaming", std::min(s.gemm_memory_s, s.gemm_s) / busy},
                        {"gemm", s.gemm_s / busy},
                        {"gemm_compute_extra", std::max(0.0, s.gemm_s - s.gemm_memory_s) / busy},
                        {"decode_attention_kv", s.decode_attn_s / busy},
                        {"prefill_attention", s.prefill_attn_s / busy},
                        {"collectives", s.collective_s / busy},
                        {"exposed_collectives", s.exposed_collective_s / busy},
                        {"elementwise", s.elementwise_s / busy},
                        {"overhead", s.overhead_s / busy},
                        {"measured", s.measured_s / busy}};
  if (r.decode_source) j["decode_step_time_source"] = step_time_origin_name(*r.decode_source);
  if (r.prefill_source) j["prefill_step_time_source"] = step_time_origin_name(*r.prefill_source);
  if (s.measured_s > 0) {
    j["emulated"] = r.emulated;
    j["measured_outside_range_step_fraction"] = s.steps > 0 ? s.outside_measured_steps / s.steps : 0.0;
  }
  j["prefill_tokens"] = s.prefill_tokens;
  j["decode_tokens"] = s.decode_tokens;
  j["preemptions"] = s.preemptions;              // on-demand KV only (kv_on_demand = 1)
  j["recomputed_tokens"] = s.recomputed_tokens;
  return j;
}

}  // namespace

nlohmann::json point_to_json(const ServingPoint& p) {
  nlohmann::json j;
  j["layout"] = p.layout;
  j["plan"] = plan_name(p.scheme.plan);
  j["overlap"] = overlap_name(p.scheme.overlap);
  j["concurrency"] = p.concurrency;
  j["num_gpus"] = p.num_gpus;
  j["feasible"] = p.feasible;
  j["step_time_source"] = step_time_origin_name(p.step_time_source);
  j["emulated"] = p.emulated;
  if (!p.feasible) {
    j["reason"] = p.reason;
    return j;
  }
  j["requests"] = p.requests;
  j["duration_s"] = p.duration_s;
  j["output_tok_s"] = p.output_tok_s;
  j["ttft_s"] = p.ttft_s;
  j["tpot_s"] = p.tpot_s;
  j["e2e_s"] = p.e2e_s;
  j["tokens_per_s_per_gpu"] = p.tokens_per_s_per_gpu;
  j["per_user_inv_tpot"] = p.per_user_inv_tpot;
  j["per_user_out_div_conc"] = p.per_user_out_div_conc;
  j["queue_s"] = p.queue_s;
  nlohmann::json b;
  b[p.prefill.tp > 0 ? "decode_pool" : "replicas"] = pool_json(p.main);
  if (p.prefill.tp > 0) {
    b["prefill_pool"] = pool_json(p.prefill);
    b["kv_transfer_s"] = p.kv_transfer_s;
    b["kv_pull_wait_s"] = p.kv_pull_wait_s;
  }
  j["breakdown"] = b;
  return j;
}

}  // namespace tpbench
