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
    case OpKind::MoeGate: return "moe_gate";
    case OpKind::GatherRows: return "gather_rows";
    case OpKind::GroupedGemm: return "grouped_gemm";
    case OpKind::MoeCombine: return "moe_combine";
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
    case LogicalWeight::Router: return {m.hidden, m.moe.experts};
    case LogicalWeight::ExpertGate:
    case LogicalWeight::ExpertUp: return {m.moe.experts * m.hidden, m.moe.expert_intermediate};
    case LogicalWeight::ExpertDown: return {m.moe.experts * m.moe.expert_intermediate, m.hidden};
    case LogicalWeight::SharedGate:
    case LogicalWeight::SharedUp: return {m.hidden, m.moe.shared_experts * m.moe.shared_intermediate};
    case LogicalWeight::SharedDown: return {m.moe.shared_experts * m.moe.shared_intermediate, m.hidden};
  }
  return {0, 0};
}

int64_t logical_fan_in(const ModelSpec& m, LogicalWeight w) {
  switch (w) {
    case LogicalWeight::ExpertGate:
    case LogicalWeight::ExpertUp: return m.hidden;
    case LogicalWeight::ExpertDown: return m.moe.expert_intermediate;
    default: return logical_shape(m, w).rows;
  }
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
      case OpKind::Gemm:
      case OpKind::GroupedGemm: ++t.gemms; t.matmul_flops += op.flops; break;
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

[[noreturn]] void plan_bug(const Op& op, const std::string& why) {
  throw std::logic_error("plan bug: op '" + op.name + "' " + why);
}

const MoeTable& moe_table(const RankProgram& r, const Op& op) {
  if (op.moe.table < 0 || op.moe.table >= static_cast<int>(r.moe_tables.size())) plan_bug(op, "has no row map");
  return r.moe_tables[size_t(op.moe.table)];
}

// Every row map stays inside its views, and a grouped GEMM's groups cover its rows.
void check_moe_op(const RankProgram& r, const Op& op) {
  const bool moe = op.kind == OpKind::MoeGate || op.kind == OpKind::GatherRows || op.kind == OpKind::GroupedGemm ||
                   op.kind == OpKind::MoeCombine;
  if (!moe) return;
  const MoeTable& t = moe_table(r, op);
  auto in = [](int64_t i, int64_t n) { return i >= 0 && i < n; };
  switch (op.kind) {
    case OpKind::MoeGate:
      if (int64_t(t.chosen.size()) != op.a.rows * op.moe.top_k || op.out.cols != op.moe.top_k ||
          op.a.cols != op.moe.experts)
        plan_bug(op, "has a gate table of the wrong size");
      for (int32_t e : t.chosen)
        if (!in(e, op.moe.experts)) plan_bug(op, "routes to an expert that does not exist");
      break;
    case OpKind::GatherRows:
      if (int64_t(t.source_rows.size()) != op.out.rows || op.a.cols != op.out.cols) plan_bug(op, "has a row map of the wrong size");
      for (int64_t s : t.source_rows)
        if (s != -1 && !in(s, op.a.rows)) plan_bug(op, "copies a row outside its input");
      break;
    case OpKind::GroupedGemm: {
      int64_t rows = 0;
      for (int64_t n : t.group_rows) rows += n;
      if (int64_t(t.group_rows.size()) != op.moe.groups || rows != op.a.rows || op.out.rows != op.a.rows ||
          op.a.cols != op.w.rows || op.out.cols != op.w.cols)
        plan_bug(op, "has groups that do not cover its rows");
      View last = op.w;
      last.offset += (op.moe.groups - 1) * op.moe.weight_stride;
      if (op.moe.groups > 0) check_view(r, op, last, "w (last group)");
      break;
    }
    case OpKind::MoeCombine:
      if (op.a.cols != op.out.cols) plan_bug(op, "combines rows of another width");
      for (const MoeCombineTerm& c : t.terms)
        if (!in(c.out_row, op.out.rows) || !in(c.gate_row, op.w.rows) || !in(c.gate_col, op.w.cols) ||
            !in(c.source_row, op.a.rows))
          plan_bug(op, "has a combine term outside its views");
      break;
    default: break;
  }
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
      if (op.kind == OpKind::Gemm || op.kind == OpKind::RmsNorm || op.kind == OpKind::GroupedGemm ||
          op.kind == OpKind::MoeCombine)
        check_view(r, op, op.w, "w");
      check_moe_op(r, op);
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
