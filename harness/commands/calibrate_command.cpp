// `tpbench calibrate`: options, the measurement request, running it and writing the profile.
// Merging the measurements into a profile and the summary table: calibrate_profile.cpp.
#include "harness/commands/calibrate_command.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "harness/common/error.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/model/model_spec.hpp"

namespace tpbench {

void check_calibrate_options(const CalibrateOptions& o) {
  if (o.out.empty()) throw UsageError("calibrate: --out FILE is required");
  std::set<int> seen;
  for (int g : o.gpus) {
    if (g < 0) throw UsageError("--gpus: device ids must be >= 0, got " + std::to_string(g));
    if (!seen.insert(g).second) throw UsageError("--gpus: device " + std::to_string(g) + " is listed twice");
  }
  if (o.min_bytes <= 0) throw UsageError("--min-bytes must be > 0");
  if (o.max_bytes <= 0) throw UsageError("--max-bytes must be > 0");
  if (o.min_bytes > o.max_bytes)
    throw UsageError("--min-bytes (" + std::to_string(o.min_bytes) + ") is larger than --max-bytes (" +
                     std::to_string(o.max_bytes) + ")");
  // Every rank holds an input and an output of the largest size: 8 GiB keeps that well inside
  // an 80 GB GPU beside NCCL's own buffers.
  if (o.max_bytes > (int64_t(8) << 30)) throw UsageError("--max-bytes must be at most 8G");
}

std::vector<CalibrateGemmShape> calibrate_gemm_shapes() {
  // Per-rank shapes of the tp plan (Megatron style, what vLLM runs): QKV and gate/up are
  // column-parallel (n shards), O and down row-parallel (k shards), the LM head vocab-parallel;
  // KV heads are replicated when TP exceeds them.
  const ModelSpec m = preset_model("llama-3.1-70b");
  std::vector<CalibrateGemmShape> shapes;
  for (int tp : {1, 4, 8}) {
    validate_tp(m, tp);
    const int64_t q = m.q_heads / tp, kv = std::max<int64_t>(1, m.kv_heads / tp);
    const int layers = int(m.layers);
    shapes.push_back({"qkv", tp, (q + 2 * kv) * m.head_dim, m.hidden, layers});
    shapes.push_back({"o", tp, m.hidden, q * m.head_dim, layers});
    shapes.push_back({"gate_up", tp, 2 * m.intermediate / tp, m.hidden, layers});
    shapes.push_back({"down", tp, m.hidden, m.intermediate / tp, layers});
    shapes.push_back({"lm_head", tp, m.vocab / tp, m.hidden, 1});  // vocab-parallel, once a step
  }
  return shapes;
}

std::vector<size_t> calibrate_collective_sizes(int64_t min_bytes, int64_t max_bytes, double factor) {
  std::vector<size_t> sizes;
  for (double s = double(min_bytes); s <= double(max_bytes); s = std::max(s + 1, std::floor(s * factor)))
    sizes.push_back(size_t(s));
  return sizes;
}

CalibrateRequest make_calibrate_request(const CalibrateOptions& o) {
  CalibrateRequest r;
  r.gpus = o.gpus;
  r.gemm_m = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
  r.gemm_shapes = calibrate_gemm_shapes();
  const ModelSpec m = preset_model("llama-3.1-70b");
  for (int tp : {1, 4, 8})
    r.attention_heads.push_back({tp, m.q_heads / tp, std::max<int64_t>(1, m.kv_heads / tp), m.head_dim});
  r.attention_batch = {1, 2, 4, 8, 16, 32, 64};
  r.collective_ops = {CollectiveKind::AllReduce, CollectiveKind::AllGather, CollectiveKind::ReduceScatter};
  double factor = 2;
  if (o.quick) {
    // device_check.sh budget (< 60 s on one H100): the same quantities, fewer samples.
    r.iters = 8;
    r.warmup = 2;
    r.hbm_bytes = size_t(2) << 30;
    r.attention_batch = {1, 4, 16, 64};
    r.attention_heads = {r.attention_heads.front(), r.attention_heads.back()};  // TP 1 and 8
    r.collective_iters = 10;
    r.collective_warmup = 3;
    factor = 4;
  }
  r.collective_sizes = calibrate_collective_sizes(o.min_bytes, o.max_bytes, factor);
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

  const CalibrateMeasurements m = run_calibrate_cuda(req, out);
  const SystemProfile merged = merge_calibration(base, m, opt.name);
  const nlohmann::json doc = calibration_document(merged, m, opt.command_line);
  // What predict / --emulate-tp will read must load: checked before the file exists...
  profile_from_json(doc, "calibrate output");
  write_file_atomic(opt.out, doc.dump(2) + "\n");
  // ... and once more from the file itself.
  load_profile_file(opt.out);
  print_calibration_summary(base, merged, m, out);
  out << "wrote " << opt.out << " (tpbench.profile/1)\n";
  return 0;
}

}  // namespace tpbench
