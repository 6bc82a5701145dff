#pragma once
// The named knobs of the performance model. Defaults are "no correction": the prediction is
// the profile's speed of light. `tpbench fit` may move at most four of them (see fit.hpp),
// and only on the configurations it trains on.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tpbench {

struct PerfParams {
  double hbm_efficiency = 1.0;        // scale on profile.hbm_bandwidth (weights and KV streaming)
  double compute_efficiency = 1.0;    // scale on matmul and attention FLOP/s
  double step_overhead_s = 0.0;       // added to every engine step (serving-stack overhead)
  double collective_scale = 1.0;      // scale on collective table times
  // Extra latency per ring step of every collective, on top of the table: all_reduce pays
  // 2(n-1) steps, all_gather / reduce_scatter n-1. Models a stack whose collectives run as a
  // plain ring with slower steps than nccl-tests (no custom all-reduce, no NVLS).
  double collective_hop_latency_s = 0.0;
  // Extra per-step cost of an instance of TP n only (key n), on top of step_overhead_s: a stack
  // whose fixed cost per step grows with the group (e.g. read off measured C=1 TPOT). Set with
  // `--set step_overhead_tp<n>_s=SECONDS`; empty = none (the speed of light).
  std::map<int, double> step_overhead_by_tp_s;
  // Scale on the whole step time (GPU work and the profile's overheads) of an instance of TP n
  // only (key n), before step_overhead_s is added: a stack that runs TP n's steps slower than
  // the hardware in proportion to their work (e.g. read off measured TPOT across concurrency).
  // Set with `--set step_time_scale_tp<n>=FACTOR`; empty = 1 (the speed of light).
  std::map<int, double> step_time_scale_by_tp;
  double memory_reserve_bytes = -1;   // per GPU; < 0: profile runtime reserve + activation peak
  double gpu_memory_utilization = 0.95;   // vLLM --gpu-memory-utilization of the llm-d runs
  int64_t max_num_batched_tokens = 8192;  // vLLM V1 default token budget (online serving, >=70 GiB GPUs)
  int64_t max_num_seqs = 256;             // vLLM max running sequences
  // KV admission: false = reserve ISL+OSL at admission, never preempt (the default: an upper
  // bound that no scheduler policy loses to thrashing); true = vLLM's on-demand blocks with
  // recompute preemption (`--set kv_on_demand=1`).
  bool kv_on_demand = false;
};

// Named access for the fit: "hbm_efficiency", "compute_efficiency", "step_overhead_s",
// "collective_scale", "collective_hop_latency_s", "memory_reserve_gib", "step_overhead_tp<n>_s"
// (fittable only when a training configuration has TP n), the switch "kv_on_demand" (0 or 1)
// and the engine's configuration "gpu_memory_utilization", "max_num_batched_tokens",
// "max_num_seqs" (never fitted); "step_time_scale_tp<n>" is fittable like step_overhead_tp<n>_s. Throws UsageError for an unknown name or a bad value.
double get_param(const PerfParams& p, const std::string& name);
// The serving stack's extra cost on every step of an instance of TP `tp`: step_overhead_s plus
// that TP's step_overhead_tp<n>_s (what measured step times need added; the roofline adds it
// itself).
double stack_step_overhead_s(const PerfParams& p, int tp);
// The scale on every step of an instance of TP `tp` (1 unless step_time_scale_tp<n> is set).
double step_time_scale(const PerfParams& p, int tp);
// n for a name "step_overhead_tp<n>_s", else 0.
int step_overhead_tp_of(const std::string& name);
// n for a name "step_time_scale_tp<n>", else 0.
int step_time_scale_tp_of(const std::string& name);
// n for either per-TP name, else 0: such a parameter is learnt only from configurations of TP n.
int per_tp_param_of(const std::string& name);
void set_param(PerfParams& p, const std::string& name, double value);
// The largest value set_param takes for a fittable parameter (efficiencies 2, collective_scale
// 100, hop latency 0.01 s, memory reserve 1e6 GiB, step overheads 10 s, step-time scales 100).
double param_upper_bound(const std::string& name);
std::vector<std::string> fittable_param_names();

}  // namespace tpbench
