#pragma once
// One measured (or skipped) point of a sweep and its JSON form (schema tpbench.result/1).
#include <array>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/measure/stats.hpp"
#include "harness/plan/step_program.hpp"

namespace tpbench {

// What became of a point: it ran, it could not run here (memory, a kernel the device lacks), or
// its run failed; the last two carry the reason.
enum class PointStatus { Ok, NotRunnable, Failed };
inline constexpr std::array kAllPointStatuses = {PointStatus::Ok, PointStatus::NotRunnable, PointStatus::Failed};
const char* point_status_name(PointStatus s);  // "ok", "not_runnable", "failed"
PointStatus parse_point_status(const std::string& s);  // throws UsageError naming an unknown status

struct Breakdown {
  // Per rank (rank 0), scaled to all of the model's layers.
  double weight_bytes = 0, kv_bytes = 0, hbm_bytes = 0, flops = 0, collective_bytes_per_rank = 0;
  double memory_per_rank_bytes = 0;
  // Rank 0's time per op kind from a profiled run, scaled to all layers (seconds).
  double gemm_s = 0, attention_s = 0, collective_s = 0, other_s = 0;
  // The step against the sum of its ops timed one by one (eagerly, serialised): on the cuda
  // backend a CUDA-graph step should stay within a few percent of it (launch gaps removed, no
  // overlap); above 1 means time lost between kernels, below 1 means overlap.
  double sum_of_ops_s = 0;
  bool collectives_from_profile = false;  // --emulate-tp: collective time is the profile's
  // Variants of the same program: exposed communication = step - compute-only.
  std::optional<double> compute_only_s, comm_only_s, exposed_collective_s;
  double achieved_hbm_bytes_per_s = 0, achieved_flops_per_s = 0;
};

struct Point {
  StepConfig config;
  int64_t layers_run = 0, layers_total = 0;
  PointStatus status = PointStatus::Ok;
  std::string reason;
  bool emulated = false, oversubscribed = false;
  // Emulated with --overlap streams|split: an emulated collective occupies one SM and no HBM
  // bandwidth (NCCL's take 16-32 CTAs and stream through HBM), so the overlap it shows with
  // compute is better than the real one.
  bool overlap_optimistic = false;
  // Which kernels the backend ran where it chose between several (null: no choice made, e.g.
  // the cpu backend), also for a point that failed (what it chose or tried first). The cuda
  // backend writes {"attention", "attention_library", "decode_attention_ours_s",
  // "decode_attention_library_s", "decode_attention_timed_here", "attention_candidate_failed"?,
  // "gemm_shapes", "skinny_gemm_shapes", "gemm_candidate_failed"?, "graphs",
  // "graph_capture_errors"?, "op_profile_event_overshoot_s"?} (? where it applies); choices are
  // per shape (the last attention shape's medians are the ones shown).
  nlohmann::json kernels;
  Summary step;            // seconds, scaled to all layers: layers x (total / run) + head
  bool converged = false;
  // Medians of the layers (scaled to all layers) and of the once-per-step work: the prologue
  // (embedding copy, first weight gather) plus the LM head; reported as head_time_s.
  double layers_median_s = 0, head_median_s = 0;
  Breakdown breakdown;
  std::optional<bool> verified;  // null: not checked
  std::string verify_skipped;     // --verify could not run for this point: why (verified is null)
  nlohmann::json telemetry_before, telemetry_after;  // backend telemetry around the point
  bool throttled = false;                            // a GPU reported thermal or hardware slowdown (not the power cap)
  double verify_rel_l2 = 0, verify_tolerance = 0;
  std::optional<bool> collectives_exact;  // --verify: the TP group's collectives checked exactly

  double tokens_per_step() const { return double(config.batch) * double(config.new_tokens()); }
  double tokens_per_s_per_user() const;  // decode: 1 / TPOT; prefill: chunk tokens / step
  double tokens_per_s_per_gpu() const;   // tokens per step / (step x TP)
};

nlohmann::json to_json(const Point& p);

}  // namespace tpbench
