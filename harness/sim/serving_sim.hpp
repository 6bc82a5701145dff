#pragma once
// Serving simulator: a closed loop of C users (vLLM benchmark_serving --max-concurrency C,
// 10 x C prompts, fixed ISL/OSL) against a layout of continuous-batching engines. Aggregated
// replicas sit behind one load-aware router that sends each request to the least-loaded one
// (k replicas at C behave like one at C/k when k divides C); a PD layout sends
// each request to the least-loaded prefill instance, transfers its KV cache
// (2 x L x kv_heads x head_dim x bytes x ISL) over the link, and decodes it on the
// least-loaded decode instance.
#include <cstdint>
#include <optional>
#include <string>

#include "harness/model/model_spec.hpp"
#include "harness/perf/measured_step_times.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/perf/step_time_origin.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/sim/engine.hpp"
#include "harness/sim/layout.hpp"

namespace tpbench {

struct ServingConfig {
  int concurrency = 1;
  int64_t isl = 10000, osl = 1000;
  int prompts_per_user = 10;
  double kv_link_bandwidth = 0;  // bytes/s per rank; <= 0: the profile's
  // How every instance runs its steps (plan and overlap); what the cost model prices.
  StepScheme scheme;
  // Step times from sweep tables where they cover a pool's TP and phase; null: the cost model.
  const MeasuredStepTimes* measured = nullptr;
};

struct PoolReport {
  int tp = 0, instances = 0;
  int ep = 1;
  int64_t kv_tokens = 0;          // per instance
  int64_t kv_max_sequences = 0;   // of ISL+OSL tokens (ISL on a prefill pool)
  EngineStats stats;              // summed over the pool's instances
  // Where the pool's step times came from, per phase it runs (empty for a phase it never runs:
  // decode on a prefill pool, prefill on a decode pool); emulated: measured on emulated TP.
  std::optional<StepTimeOrigin> decode_source, prefill_source;
  bool emulated = false;
};

struct ServingPoint {
  std::string layout;
  StepScheme scheme;
  int concurrency = 0;
  int num_gpus = 0;
  bool feasible = true;
  std::string reason;  // why not feasible
  int64_t requests = 0;
  double duration_s = 0;
  double output_tok_s = 0, ttft_s = 0, tpot_s = 0, e2e_s = 0;
  double tokens_per_s_per_gpu = 0, per_user_inv_tpot = 0, per_user_out_div_conc = 0;
  double queue_s = 0;        // mean wait from submission to admission, plus waits after preemptions
                             // and (PD) the wait for room on a decode instance
  double kv_transfer_s = 0;   // PD: per request, on free links
  double kv_pull_wait_s = 0;  // PD: mean wait for a busy link before a request's pull starts
  // Measured or Roofline when every phase the layout runs came from it, else Mixed.
  StepTimeOrigin step_time_source = StepTimeOrigin::Roofline;
  bool emulated = false;     // some measured step times came from emulated-TP points
  PoolReport main;     // aggregated replicas, or the decode pool
  PoolReport prefill;  // PD only
};

ServingPoint simulate_serving(const Layout& layout, const ModelSpec& model, const SystemProfile& prof,
                              const PerfParams& par, const ServingConfig& cfg);

}  // namespace tpbench
