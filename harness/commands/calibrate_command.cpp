// `tpbench calibrate`: options, the measurement request, running it and writing the profile.
// Merging the measurements into a profile and the summary table: calibrate_profile.cpp.
#include "harness/commands/calibrate_command.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <set>

#include "harness/common/error.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/model/model_spec.hpp"
#include "harness/perf/inputs.hpp"
#include "harness/plan/op_cost.hpp"
#include "harness/plan/plan.hpp"

namespace tpbench {

void check_calibrate_options(const CalibrateOptions& o) {
  if (o.out.empty()) throw UsageError("calibrate: --out FILE is required");
  std::set<int> seen;
  for (int g : o.gpus) {
    if (g < 0) throw UsageError("--gpus: device ids must be >= 0, got " + std::to_string(g));
    if (!seen.insert(g).second) throw UsageError("--gpus: device " + std::to_string(g) + " is listed twice");
  }
  if (o.tps.empty()) throw UsageError("--tp needs at least one TP size");
  for (int tp : o.tps)
    if (tp < 1 || tp > 1024) throw UsageError("--tp: sizes must be in 1..1024, got " + std::to_string(tp));
  if (o.plans.empty()) throw UsageError("--plan needs at least one plan");
  for (const auto& p : o.plans) parse_plan(p);
  if (o.min_bytes < 0) throw UsageError("--min-bytes must be > 0");
  if (o.max_bytes < 0) throw UsageError("--max-bytes must be > 0");
  if (o.min_bytes > 0 && o.max_bytes > 0 && o.min_bytes > o.max_bytes)
    throw UsageError("--min-bytes (" + std::to_string(o.min_bytes) + ") is larger than --max-bytes (" +
                     std::to_string(o.max_bytes) + ")");
  // Every rank holds an input and an output of the largest size: 8 GiB keeps that well inside
  // an 80 GB GPU beside NCCL's own buffers.
  if (o.max_bytes > (int64_t(8) << 30)) throw UsageError("--max-bytes must be at most 8G");
}

namespace {

// The name of a plan op without its layer prefix ("L0.qkv" -> "qkv", "head.lm_head" -> "lm_head").
std::string op_base_name(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

// One plan at one TP: its GEMMs (per step), attention heads, collectives and their sizes.
void add_plan_ops(const ModelSpec& m, int tp, PlanKind plan, int64_t max_tokens, CalibrateWorkload& w) {
  StepConfig c;
  c.plan = plan;
  c.tp = tp;
  c.batch = tp;
  c.context = 8;
  c.layers = 1;
  const StepProgram p = build_program(m, c);
  const RankProgram& r = p.ranks.front();
  for (size_t i = 0; i < r.ops.size(); ++i) {
    const Op& op = r.ops[i];
    const bool layer_op = int(i) >= r.layers_begin && int(i) < r.head_begin;
    const int per_step = layer_op ? int(m.layers) : 1;
    if (op.kind == OpKind::Gemm) {
      auto same = [&](const CalibrateGemmShape& s) { return s.tp == tp && s.n == op.w.cols && s.k == op.a.cols; };
      auto it = std::find_if(w.gemm_shapes.begin(), w.gemm_shapes.end(), same);
      if (it == w.gemm_shapes.end()) w.gemm_shapes.push_back({op_base_name(op.name), tp, op.w.cols, op.a.cols, per_step});
    } else if (op.kind == OpKind::Attention) {
      const CalibrateAttentionHeads h{tp, op.attn.q_heads, op.attn.kv_heads, op.attn.head_dim};
      auto same = [&](const CalibrateAttentionHeads& x) {
        return x.tp == h.tp && x.q_heads == h.q_heads && x.kv_heads == h.kv_heads && x.head_dim == h.head_dim;
      };
      if (std::none_of(w.attention_heads.begin(), w.attention_heads.end(), same)) w.attention_heads.push_back(h);
    } else if (op.kind == OpKind::Collective && op.group_size > 1) {
      if (std::find(w.collective_ops.begin(), w.collective_ops.end(), op.collective) == w.collective_ops.end())
        w.collective_ops.push_back(op.collective);
      // The op's size over steps of 1 to max_tokens tokens, with at most max_num_seqs logits rows
      // (fixed-size gathers stay fixed).
      for (double tokens : {1.0, double(max_tokens)}) {
        StepWork work;
        work.decode_seqs = tokens;
        work.logits = std::min(tokens, double(PerfParams{}.max_num_seqs));
        const double bytes = op_at(op, work, double(dtype_bytes(m.dtype))).message_bytes;
        if (bytes <= 0) continue;
        w.min_message_bytes = w.min_message_bytes > 0 ? std::min(w.min_message_bytes, bytes) : bytes;
        w.max_message_bytes = std::max(w.max_message_bytes, bytes);
      }
    }
  }
}

// The nearest power of two at or below (floor) or at or above (ceil) x, at least 8.
int64_t pow2(double x, bool ceil) {
  int64_t v = 8;
  while (ceil ? double(v) < x : double(v * 2) <= x) v *= 2;
  return v;
}

}  // namespace

std::vector<size_t> calibrate_collective_sizes(int64_t min_bytes, int64_t max_bytes, double factor) {
  std::vector<size_t> sizes;
  for (double s = double(min_bytes); s <= double(max_bytes); s = std::max(s + 1, std::floor(s * factor)))
    sizes.push_back(size_t(s));
  return sizes;
}

CalibrateWorkload calibrate_workload(const ModelSpec& m, const std::vector<int>& tps, const std::vector<PlanKind>& plans,
                                     int64_t max_tokens) {
  CalibrateWorkload w;
  std::string tp_list, plan_list;
  for (PlanKind plan : plans) plan_list += (plan_list.empty() ? "" : ",") + std::string(plan_name(plan));
  for (int tp : tps) {
    tp_list += (tp_list.empty() ? "" : ",") + std::to_string(tp);
    for (PlanKind plan : plans) add_plan_ops(m, tp, plan, max_tokens, w);
  }
  w.description = m.name + ", plans " + plan_list + ", TP " + tp_list;
  return w;
}

std::vector<CollectiveKind> calibrate_collective_kinds(const std::vector<CollectiveKind>& emitted) {
  // A dense model's calibration takes no longer for all_to_all's existence; a model whose plans
  // send it gets the table nothing else can stand in for (op_pricing refuses it otherwise).
  std::vector<CollectiveKind> kinds;
  for (const CollectiveTraits& t : all_collective_traits())
    if (t.bounded_by_all_reduce || std::find(emitted.begin(), emitted.end(), t.kind) != emitted.end())
      kinds.push_back(t.kind);
  return kinds;
}

CalibrateRequest make_calibrate_request(const CalibrateOptions& o) {
  CalibrateRequest r;
  r.gpus = o.gpus;
  r.gemm_m = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
  const ModelSpec m = select_model(o.model, o.model_config);
  std::vector<PlanKind> plans;
  for (const auto& p : o.plans) plans.push_back(parse_plan(p));
  const CalibrateWorkload w = calibrate_workload(m, o.tps, plans, r.gemm_m.back());
  r.workload = w.description;
  r.gemm_shapes = w.gemm_shapes;
  r.attention_heads = w.attention_heads;
  r.attention_batch = {1, 2, 4, 8, 16, 32, 64};
  r.collective_ops = calibrate_collective_kinds(w.collective_ops);
  double factor = 2;
  if (o.quick) {
    // device_check.sh budget (< 60 s on one H100): the same quantities, fewer samples.
    r.iters = 8;
    r.warmup = 2;
    r.hbm_bytes = size_t(2) << 30;
    r.attention_batch = {1, 4, 16, 64};
    if (r.attention_heads.size() > 2) r.attention_heads = {r.attention_heads.front(), r.attention_heads.back()};
    r.collective_iters = 10;
    r.collective_warmup = 3;
    factor = 4;
  }
  // nccl-tests' usual 8 B .. 1 GiB widened to every message the plans send (weight-gather's
  // whole-layer gathers exceed 1 GiB), unless the options name a range: a table replaces the
  // base profile's for its (kind, group), so it must cover what any plan may ask of it.
  constexpr int64_t kDefaultLo = 8, kDefaultHi = int64_t(1) << 30;
  const int64_t plan_lo = w.min_message_bytes > 0 ? pow2(w.min_message_bytes, false) : kDefaultLo;
  const int64_t plan_hi = w.max_message_bytes > 0 ? pow2(w.max_message_bytes, true) : kDefaultHi;
  const int64_t lo = o.min_bytes > 0 ? o.min_bytes : std::min(kDefaultLo, plan_lo);
  int64_t hi = o.max_bytes > 0 ? o.max_bytes : std::max(kDefaultHi, plan_hi);
  hi = std::min(std::max(hi, lo), int64_t(8) << 30);
  r.collective_sizes = calibrate_collective_sizes(lo, hi, factor);
  return r;
}

#if !defined(TPBENCH_HAVE_CUDA)
// Host-only build: the GPU side (harness/commands/cuda/calibrate_cuda.cpp) is not compiled in.
CalibrateMeasurements run_calibrate_cuda(const CalibrateRequest&, std::ostream&) {
  throw UnavailableError("calibrate: no usable CUDA device (this build has no CUDA support)");
}
#endif

int run_calibrate(const CalibrateOptions& opt, std::ostream& out) {
  check_calibrate_options(opt);
  const SystemProfile base = resolve_profile(opt.base);
  check_writable(opt.out, {opt.base});  // before minutes of measurements, not after
  const CalibrateRequest req = make_calibrate_request(opt);

  // Progress goes with the text report; the other formats keep stdout for the table alone.
  CalibrateMeasurements m = run_calibrate_cuda(req, opt.format == TableFormat::Text ? out : std::cerr);
  m.workload = req.workload;
  const SystemProfile merged = merge_calibration(base, m, opt.name);
  const nlohmann::json doc = calibration_document(merged, m, opt.command_line);
  // What predict / --emulate-tp will read must load: checked before the file exists...
  profile_from_json(doc, "calibrate output");
  write_file_atomic(opt.out, doc.dump(2) + "\n");
  // ... and once more from the file itself.
  load_profile_file(opt.out);
  print_calibration_summary(base, merged, m, out, opt.format);
  if (opt.format == TableFormat::Text) out << "wrote " << opt.out << " (tpbench.profile/1)\n";
  return 0;
}

}  // namespace tpbench
