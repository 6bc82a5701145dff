#include "harness/plan/step_program.hpp"

#include <algorithm>
#include <stdexcept>

#include "harness/common/error.hpp"

namespace tpbench {

const char* phase_name(Phase p) { return p == Phase::Decode ? "decode" : "prefill"; }

const char* plan_name(PlanKind p) {
  switch (p) {
    case PlanKind::TP: return "tp";
    case PlanKind::TPSP: return "tp-sp";
    case PlanKind::WeightGather: return "weight-gather";
  }
  return "?";
}

const char* overlap_name(Overlap o) {
  switch (o) {
    case Overlap::None: return "none";
    case Overlap::Streams: return "streams";
    case Overlap::Split: return "split";
  }
  return "?";
}

const char* op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::Gemm: return "gemm";
    case OpKind::Attention: return "attention";
    case OpKind::RmsNorm: return "rmsnorm";
    case OpKind::SiluMul: return "silu_mul";
    case OpKind::ResidualAdd: return "residual_add";
    case OpKind::Collective: return "collective";
    case OpKind::Copy: return "copy";
  }
  return "?";
}

Phase parse_phase(const std::string& s) {
  if (s == "decode") return Phase::Decode;
  if (s == "prefill") return Phase::Prefill;
  throw UsageError("unknown phase '" + s + "' (expected decode or prefill)");
}

PlanKind parse_plan(const std::string& s) {
  if (s == "tp") return PlanKind::TP;
  if (s == "tp-sp") return PlanKind::TPSP;
  if (s == "weight-gather") return PlanKind::WeightGather;
  throw UsageError("unknown plan '" + s + "' (expected tp, tp-sp or weight-gather)");
}

Overlap parse_overlap(const std::string& s) {
  if (s == "none") return Overlap::None;
  if (s == "streams") return Overlap::Streams;
  if (s == "split") return Overlap::Split;
  throw UsageError("unknown overlap '" + s + "' (expected none, streams or split)");
}

GlobalShape logical_shape(const ModelSpec& m, LogicalWeight w) {
  switch (w) {
    case LogicalWeight::Q: return {m.hidden, m.q_width()};
    case LogicalWeight::K:
    case LogicalWeight::V: return {m.hidden, m.kv_width()};
    case LogicalWeight::O: return {m.q_width(), m.hidden};
    case LogicalWeight::Gate:
    case LogicalWeight::Up: return {m.hidden, m.intermediate};
    case LogicalWeight::Down: return {m.intermediate, m.hidden};
    case LogicalWeight::AttnNorm:
    case LogicalWeight::MlpNorm:
    case LogicalWeight::FinalNorm: return {1, m.hidden};
    case LogicalWeight::LmHead: return {m.hidden, m.vocab};
    case LogicalWeight::Embedding: return {m.vocab, m.hidden};
  }
  return {0, 0};
}

int64_t StepConfig::new_tokens() const {
  if (phase == Phase::Decode) return 1;
  return chunk > 0 ? chunk : context;
}

OpTotals totals(const RankProgram& r, int begin, int end) {
  if (end < 0) end = static_cast<int>(r.ops.size());
  OpTotals t;
  for (int i = begin; i < end; ++i) {
    const Op& op = r.ops[i];
    t.flops += op.flops;
    t.hbm_bytes += op.hbm_bytes;
    t.weight_bytes += op.weight_bytes;
    t.kv_bytes += op.kv_bytes;
    switch (op.kind) {
      case OpKind::Gemm: ++t.gemms; t.matmul_flops += op.flops; break;
      case OpKind::Attention: ++t.attentions; t.matmul_flops += op.flops; break;
      case OpKind::Collective: ++t.collectives; t.collective_bytes_per_rank += op.bytes_per_rank; break;
      default: ++t.elementwise; break;
    }
  }
  return t;
}

namespace {

MemoryFootprint footprint_at(const RankProgram& r, int element_bytes) {
  MemoryFootprint f;
  for (const Buffer& b : r.buffers) {
    const int64_t bytes = b.elements * (element_bytes > 0 ? element_bytes : dtype_bytes(b.dtype));
    switch (b.kind) {
      case BufferKind::Weight: f.weight_bytes += bytes; break;
      case BufferKind::KVCache: f.kv_bytes += bytes; break;
      case BufferKind::Activation: f.activation_bytes += bytes; break;
      case BufferKind::Staging: f.staging_bytes += bytes; break;
    }
  }
  return f;
}

}  // namespace

MemoryFootprint footprint(const RankProgram& r) { return footprint_at(r, 0); }
MemoryFootprint footprint(const RankProgram& r, int element_bytes) { return footprint_at(r, element_bytes); }

namespace {

void check_view(const RankProgram& r, const Op& op, const View& v, const char* which) {
  auto fail = [&](const std::string& why) {
    throw std::logic_error("plan bug: op '" + op.name + "' view " + which + ": " + why);
  };
  if (v.buffer < 0 || v.buffer >= static_cast<int>(r.buffers.size())) fail("no such buffer");
  if (v.rows < 0 || v.cols < 0 || v.offset < 0) fail("negative extent");
  if (v.rows == 0 || v.cols == 0) return;
  if (v.ld < v.cols) fail("leading dimension below cols");
  const int64_t last = v.offset + (v.rows - 1) * v.ld + v.cols;
  if (last > r.buffers[v.buffer].elements)
    fail("reads past the end of '" + r.buffers[v.buffer].name + "'");
}

}  // namespace

void check_program(const StepProgram& p) {
  for (const RankProgram& r : p.ranks) {
    for (size_t i = 0; i < r.ops.size(); ++i) {
      const Op& op = r.ops[i];
      for (int d : op.deps)
        if (d < 0 || d >= static_cast<int>(i))
          throw std::logic_error("plan bug: op '" + op.name + "' depends on a later op");
      check_view(r, op, op.out, "out");
      if (op.kind != OpKind::Attention || op.a.buffer >= 0) check_view(r, op, op.a, "a");
      if (op.kind == OpKind::Gemm || op.kind == OpKind::RmsNorm) check_view(r, op, op.w, "w");
      if (op.kind == OpKind::Gemm && (op.a.cols != op.w.rows || op.out.rows != op.a.rows ||
                                      op.out.cols != op.w.cols))
        throw std::logic_error("plan bug: op '" + op.name + "' has mismatched GEMM shapes");
      if (op.kind == OpKind::Collective && (!op.a.contiguous() || !op.out.contiguous()))
        throw std::logic_error("plan bug: collective '" + op.name + "' on a strided view");
    }
    if (r.layers_begin < 0 || r.layers_begin > r.head_begin || r.head_begin > static_cast<int>(r.ops.size()))
      throw std::logic_error("plan bug: section boundaries out of range");
  }
}

}  // namespace tpbench
