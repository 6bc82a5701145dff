#pragma once
// The named knobs of the performance model. Defaults are "no correction": the prediction is
// the profile's speed of light. `tpbench fit` may move at most four of them (see fit.hpp),
// and only on the configurations it trains on.
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

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

// One named parameter of PerfParams, or a family of per-TP ones: the one description that
// get_param/set_param, the bounds checks, the JSON form and the --help text all read.
struct PerfParamDef {
  // The name of --set and fit --params; a per-TP family's has "<n>" where the TP goes
  // ("step_overhead_tp<n>_s").
  const char* name;
  // The member it reads and writes: a real number, a whole number, a 0/1 switch, or a per-TP
  // map (key: the TP).
  std::variant<double PerfParams::*, int64_t PerfParams::*, bool PerfParams::*, std::map<int, double> PerfParams::*> member;
  double min, max;             // accepted values, by name (before `unit`); a switch takes 0 or 1
  bool min_exclusive = false;  // min itself refused (a utilisation of 0)
  // The member holds value x unit (memory_reserve_gib is kept in bytes).
  double unit = 1;
  // A negative member means "not set" (memory_reserve_bytes: the profile's reserve), read by name
  // as -1 and written to JSON as it is.
  bool negative_is_unset = false;
  // fit --params may move it (a per-TP one only when a training configuration has that TP).
  bool fittable = false;
  // Its key in a document's "params" where that differs from the name (the member's unit).
  const char* json_key = nullptr;
  // The value of a per-TP parameter that is not set (no extra cost, a scale of 1).
  double neutral = 0;
  const char* help = "";
};

// Every parameter, in the order --help lists them.
const std::vector<PerfParamDef>& perf_param_defs();

// The definition `name` is an instance of, and its TP for a per-TP name (0 otherwise); throws
// UsageError "unknown model parameter 'NAME'" for a name no definition has.
const PerfParamDef& perf_param_def(const std::string& name, int* tp = nullptr);

// Named access: "hbm_efficiency", "step_overhead_tp8_s", ... (perf_param_defs()). get_param of an
// unset per-TP parameter is its neutral value (0 s, a scale of 1). set_param throws UsageError for
// an unknown name or a value outside the definition's bounds, naming the parameter.
double get_param(const PerfParams& p, const std::string& name);
void set_param(PerfParams& p, const std::string& name, double value);

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
// The largest value set_param takes for a parameter. Throws UsageError for an unknown name.
double param_upper_bound(const std::string& name);
// The fittable parameters that are not per TP.
std::vector<std::string> fittable_param_names();

// The "params" object of a document: every scalar parameter under its JSON key (whole numbers and
// switches as integers), and each per-TP parameter that is set under its name.
nlohmann::json perf_params_to_json(const PerfParams& p);
// Reads what perf_params_to_json writes; a parameter absent keeps its default. Throws UsageError
// naming an unknown key, a value that is not a number, or one outside its parameter's bounds.
PerfParams perf_params_from_json(const nlohmann::json& j);

// --help text: "name [min, max]: help" for every parameter (only the fittable ones if asked).
std::string perf_params_help(bool fittable_only);

}  // namespace tpbench
