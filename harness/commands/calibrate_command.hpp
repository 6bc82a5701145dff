#pragma once
// `tpbench calibrate`: measures this machine's ceilings on its GPUs and writes a system
// profile ("tpbench.profile/1", harness/perf/system_profile.hpp) that `predict` and
// `sweep --emulate-tp` read.
//
// Measured: HBM read and copy bandwidth (hbm_bandwidth = achievable read), BF16 matmul FLOP/s
// on a large square GEMM (matmul_flops), the per-rank GEMMs that the requested model's plans emit
// at the requested TPs (--model/--model-config, --tp, --plan; default Llama-3.1-70B, TP 1/4/8,
// plan tp): their times by m as per-op tables (gemm_times, which the cost model prices those
// shapes from) and as efficiency tables, layers and LM head weighted as in a step
// (gemm_efficiency pooled, gemm_efficiency_by_tp per TP); decode attention's fraction of the HBM
// read rate at a 10k context with the plans' local heads (decode_attention_efficiency), NVML
// clocks around each section, NCCL all_reduce / all_gather / reduce_scatter time tables per
// group size that the visible GPUs allow, from 8 B to 1 GiB and over every message size the
// plans send (unless --min-bytes/--max-bytes say otherwise), memory per GPU and the GPU's name.
// The efficiency tables (GEMM, decode attention) take the profile's per-kernel cost out of each
// measured time, since the roofline adds it back; the per-op tables keep whole kernel times and
// replace the roofline, cost included. Everything else (and the collective
// tables when fewer than two GPUs are used) comes from the --base profile, and `sources` says
// which is which.
//
// The command (validation, request, merging, summary, writing) is host code and unit-tested;
// only run_calibrate_cuda() touches the GPU (harness/commands/cuda/calibrate_cuda.cpp).
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/backend/attention_choice.hpp"
#include "harness/model/model_spec.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/plan/step_program.hpp"
#include "harness/report/table.hpp"

namespace tpbench {

struct CalibrateOptions {
  std::string out;                // profile JSON to write (required)
  std::vector<int> gpus;          // CUDA devices; empty: all visible ones
  std::string base = "h100-sxm";  // built-in name or profile file for the fields not measured
  std::string name;               // profile name; empty: "calibrated-<gpu>"
  bool quick = false;             // fewer sizes and iterations (device_check: < 60 s on one GPU)
  std::string model = "llama-3.1-70b";  // whose plans' ops are measured
  std::string model_config;       // HF config.json; overrides model
  std::vector<int> tps = {1, 4, 8};
  std::vector<std::string> plans = {"tp"};
  int64_t min_bytes = 0;          // collective sizes, nccl-tests bytes; 0: from the plans' messages
  int64_t max_bytes = 0;
  std::string command_line;
  TableFormat format = TableFormat::Text;  // how the tables are printed (--format)
};

// Validates (UsageError), checks --out is writable, measures, prints the summary, writes the
// profile atomically. Returns 0. Without a usable CUDA device: UnavailableError
// ("calibrate: no usable CUDA device (...)"), and no file.
int run_calibrate(const CalibrateOptions& opt, std::ostream& out);

// Throws UsageError for the first bad option (before any work).
void check_calibrate_options(const CalibrateOptions& opt);

// ---- what to measure (host-built, unit-tested) --------------------------------------------

struct CalibrateGemmShape {
  std::string name;  // "qkv", "o", "gate_up", "down", "lm_head"
  int tp = 1;
  int64_t n = 0, k = 0;  // per-rank: out[m, n] = a[m, k] * w[k, n]
  int per_step = 1;      // how often a step runs it (a layer GEMM: once per layer): its weight in the tables
};

struct CalibrateAttentionHeads {
  int tp = 1;
  int64_t q_heads = 0, kv_heads = 0, head_dim = 0;  // per rank
};

struct CalibrateRequest {
  std::string workload;                    // what the shapes come from (for the profile's sources)
  std::vector<int> gpus;                   // empty: all visible
  int iters = 20, warmup = 3;              // per measurement (timed events, median)
  size_t hbm_bytes = size_t(4) << 30;      // read/copy buffer, >> L2
  int64_t square = 8192;                   // matmul_flops: square x square x square GEMM
  std::vector<int64_t> gemm_m;             // tokens (GEMM rows)
  std::vector<CalibrateGemmShape> gemm_shapes;
  int64_t attention_context = 10240;
  std::vector<int64_t> attention_batch;
  std::vector<CalibrateAttentionHeads> attention_heads;
  std::vector<CollectiveKind> collective_ops;
  std::vector<size_t> collective_sizes;    // nccl-tests bytes, increasing
  int collective_iters = 20, collective_warmup = 5;
};

// What the plans of `m` emit at each TP: distinct per-rank GEMM shapes (with how often a step
// runs each), attention heads, collective kinds and the range of their message sizes over
// steps of 1 to max_tokens tokens (and up to vLLM's default max_num_seqs logits rows).
struct CalibrateWorkload {
  std::vector<CalibrateGemmShape> gemm_shapes;
  std::vector<CalibrateAttentionHeads> attention_heads;
  std::vector<CollectiveKind> collective_ops;
  double min_message_bytes = 0, max_message_bytes = 0;
  std::string description;  // "llama-3.1-70b, plans tp, TP 1,4,8"
};
CalibrateWorkload calibrate_workload(const ModelSpec& m, const std::vector<int>& tps,
                                     const std::vector<PlanKind>& plans, int64_t max_tokens);
// The collective kinds calibrate measures when the plans send `emitted`: the tensor-parallel
// kinds always (a profile needs all_reduce; the kinds it bounds cost little beside the GEMMs),
// any other kind (all_to_all) only when the plans send it. In all_collective_traits() order.
std::vector<CollectiveKind> calibrate_collective_kinds(const std::vector<CollectiveKind>& emitted);
// min, min*f, min*f^2, ... <= max (f = 4 with --quick, else 2).
std::vector<size_t> calibrate_collective_sizes(int64_t min_bytes, int64_t max_bytes, double factor);
CalibrateRequest make_calibrate_request(const CalibrateOptions& opt);

// ---- what was measured ------------------------------------------------------------------

struct CalibrateGemmPoint {
  CalibrateGemmShape shape;
  int64_t m = 0;
  double seconds = 0;  // median of one GEMM, L2 flushed before it
};

struct CalibrateAttentionPoint {
  CalibrateAttentionHeads heads;
  int64_t batch = 0, context = 0;
  double bytes = 0;    // K and V read
  double seconds = 0;  // median of one decode-attention call on `kernel`, L2 flushed before it
  // Both decode kernels the cuda backend chooses between are timed, and the faster one is
  // what it runs (harness/backend/attention_choice.hpp): the project's (split or simple by
  // shape) and cuDNN's SDPA where the build has it. 0: not timed (no cuDNN, or it failed).
  AttentionKernel kernel = AttentionKernel::None;
  double own_seconds = 0, library_seconds = 0;
};
// The point of a shape from its two timings: the faster kernel and its time, as the backend decides.
CalibrateAttentionPoint attention_point(const CalibrateAttentionHeads& h, int64_t batch, int64_t context,
                                        double bytes, AttentionKernel own, double own_s,
                                        std::optional<double> library_s);

struct CalibrateCollectivePoint {
  CollectiveKind op = CollectiveKind::AllReduce;
  int group = 2;
  double bytes = 0;    // nccl-tests size
  double seconds = 0;  // mean per operation over the timed loop, slowest rank
};

struct CalibrateMeasurements {
  std::string workload;        // the request's
  std::string gpu_name;
  int gpu_count = 0;           // GPUs used
  double memory_bytes = 0;     // per GPU (cudaMemGetInfo total)
  double hbm_read_bps = 0;     // median
  double hbm_copy_bps = 0;     // 2 x bytes / time (read + write)
  double hbm_bytes = 0;        // buffer size used
  double matmul_flops = 0;     // best of the square GEMM's timed runs
  int64_t square = 0;
  std::vector<CalibrateGemmPoint> gemm;
  std::vector<CalibrateAttentionPoint> attention;
  std::vector<CalibrateCollectivePoint> collectives;  // empty with one GPU
  std::string collective_note;  // why tables are missing, or "" when measured
  // NVML clocks, temperature and throttle state of the first GPU before and after each section
  // ([{section, when, sm_mhz, mem_mhz, temperature_c, throttled, power_capped}]); null without NVML.
  nlohmann::json telemetry;
};

// The backend: runs every measurement of `req` on the GPUs, printing one progress line per
// section to `progress`. Throws UnavailableError("calibrate: no usable CUDA device (...)")
// without a device and in a build without CUDA.
CalibrateMeasurements run_calibrate_cuda(const CalibrateRequest& req, std::ostream& progress);

// ---- turning measurements into a profile (pure, unit-tested) ---------------------------------

// [[m, fraction of matmul_flops]] for every m: the shapes' total FLOPs over their total time,
// each shape counted per_step times (as a step through the layers and the head sees them),
// divided by matmul_flops, capped at 1.5 (what profile_from_json accepts). Each GEMM's time is
// taken less kernel_s, the profile's fixed cost per kernel, which the cost model adds back.
std::vector<std::pair<double, double>> gemm_efficiency_table(const std::vector<CalibrateGemmPoint>& gemm,
                                                              double matmul_flops, double kernel_s = 0);
// The same table per TP, from that TP's shapes only: a TP8 rank's small GEMMs reach a lower
// fraction of the bandwidth than TP1's large ones, and the pooled table is weighted by TP1.
std::map<int, std::vector<std::pair<double, double>>> gemm_efficiency_tables_by_tp(
    const std::vector<CalibrateGemmPoint>& gemm, double matmul_flops, double kernel_s = 0);

// Per (n, k): the measured seconds by m (shapes measured at several TPs averaged), as the
// cost model reads them (SystemProfile::gemm_times).
std::vector<SystemProfile::GemmTimes> gemm_time_tables(const std::vector<CalibrateGemmPoint>& gemm);

// The base profile with every measured field replaced and its source noted; collective
// tables replaced per (op, group) that was measured, the base's kept otherwise.
SystemProfile merge_calibration(const SystemProfile& base, const CalibrateMeasurements& m, const std::string& name);

// profile_to_json(profile) plus a "calibration" object with the raw measurements (attention
// bandwidth, per-shape GEMM times, copy bandwidth...), which profile_from_json ignores.
nlohmann::json calibration_document(const SystemProfile& profile, const CalibrateMeasurements& m,
                                    const std::string& command_line);

// The summary table: each measured ceiling, the base profile's number and their ratio (the text
// form adds what was measured and the collectives' note).
Table calibration_table(const SystemProfile& base, const SystemProfile& merged, const CalibrateMeasurements& m);
void print_calibration_summary(const SystemProfile& base, const SystemProfile& merged,
                               const CalibrateMeasurements& m, std::ostream& out, TableFormat f = TableFormat::Text);

}  // namespace tpbench
