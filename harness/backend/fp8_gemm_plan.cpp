#include "harness/backend/fp8_gemm_plan.hpp"

#include <algorithm>

#include "kernels/detail/fp8_e4m3.hpp"

namespace tpbench {
namespace {

// The scale of an FP8 weight buffer: its segments' logical tensors must share one fan-in (the
// fused QKV and gate/up weights do), and the segments must cover the buffer (no filler padding,
// which the transposed FP8 storage does not hold).
std::optional<std::string> weight_scale(const ModelSpec& m, const Buffer& b, float* scale) {
  int64_t fan_in = -1, covered = 0;
  for (const WeightSegment& s : b.weight_init) {
    const int64_t f = logical_fan_in(m, s.which);
    if (fan_in >= 0 && f != fan_in)
      return "FP8 weight '" + b.name + "' fuses tensors of different fan-in, which one per-tensor scale cannot serve";
    fan_in = f;
    covered += s.rows * s.cols;
  }
  if (fan_in < 0 || covered != b.elements)
    return "FP8 weight '" + b.name + "' has padding no tensor covers (the weight-gather layout), which the cuda "
           "backend's transposed FP8 storage does not hold";
  *scale = fp8::weight_scale(fan_in);
  return std::nullopt;
}

// A GEMM on an FP8 weight: the whole buffer as one k x n matrix (so that it transposes as a
// whole), k and the output's alignment as cuBLASLt's FP8 kernels need (multiples of 16 bytes).
std::optional<std::string> check_gemm(const Op& op, const Buffer& w) {
  const std::string who = "FP8 GEMM '" + op.name + "'";
  if (op.w.offset != 0 || op.w.ld != op.w.cols || op.w.rows * op.w.cols != w.elements)
    return who + " reads part of its weight buffer, which the transposed FP8 storage cannot serve";
  if (op.w.rows % 16 != 0)
    return who + ": k = " + std::to_string(op.w.rows) + " is not a multiple of 16 (cuBLASLt's FP8 kernels need it)";
  if (op.out.offset % 8 != 0 || op.out.ld % 8 != 0)
    return who + ": its BF16 output is not 16-byte aligned (cuBLASLt's FP8 kernels need it)";
  // One staging buffer serves every FP8 GEMM of the rank: they must run one after another.
  if (op.stream != StreamId::Compute) return who + " runs on a second stream beside the others, which share one staging buffer";
  if (op.a.dtype != DType::BF16 || op.out.dtype != DType::BF16)
    return who + ": the cuda backend's FP8 GEMMs take BF16 inputs and outputs";
  return std::nullopt;
}

}  // namespace

Fp8GemmPlan plan_fp8_gemms(const ModelSpec& m, const RankProgram& r) {
  Fp8GemmPlan p;
  p.scale_index.assign(r.buffers.size(), -1);
  p.weight_cols.assign(r.buffers.size(), 0);
  p.scales.push_back(fp8::kActivationScale);
  for (size_t i = 0; i < r.buffers.size(); ++i) {
    const Buffer& b = r.buffers[i];
    if (b.kind != BufferKind::Weight || b.dtype != DType::FP8E4M3) continue;
    float scale = 0;
    if (auto why = weight_scale(m, b, &scale)) {
      p.refusal = why;
      return p;
    }
    p.scale_index[i] = int(p.scales.size());
    p.scales.push_back(scale);
  }
  for (const Op& op : r.ops) {
    if (op.kind != OpKind::Gemm || op.w.dtype != DType::FP8E4M3) continue;
    if (auto why = check_gemm(op, r.buffers[op.w.buffer])) {
      p.refusal = why;
      return p;
    }
    int64_t& n = p.weight_cols[size_t(op.w.buffer)];
    if (n != 0 && n != op.w.cols) {
      p.refusal = "FP8 weight '" + r.buffers[size_t(op.w.buffer)].name + "' is read as matrices of different shapes";
      return p;
    }
    n = op.w.cols;
    ++p.gemms;
    p.input_elements = std::max(p.input_elements, op.a.rows * op.a.cols);
  }
  // Any other op on an FP8 weight (a norm, a copy, a collective) would read its bytes as BF16.
  for (const Op& op : r.ops)
    for (const View* v : {&op.a, &op.w, &op.out})
      if (v->buffer >= 0 && p.scale_index[size_t(v->buffer)] >= 0 && !(op.kind == OpKind::Gemm && v == &op.w)) {
        p.refusal = "op '" + op.name + "' reads FP8 weight '" + r.buffers[size_t(v->buffer)].name +
                    "' other than as a GEMM weight, which the cuda backend does not run";
        return p;
      }
  return p;
}

}  // namespace tpbench
