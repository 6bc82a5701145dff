#include "harness/plan/detail/program_builder.hpp"

#include <algorithm>

#include "harness/plan/op_cost.hpp"

namespace tpbench::detail {

Buffer& ProgramBuilder::add_buffer(const std::string& name, BufferKind kind, int64_t elements, InitKind init,
                                   DType dtype) {
  Buffer b;
  b.name = name;
  b.kind = kind;
  b.elements = elements;
  b.init = init;
  b.dtype = dtype;
  r_.buffers.push_back(std::move(b));
  return r_.buffers.back();
}

int ProgramBuilder::weight(const std::string& name, int64_t elements, std::vector<WeightSegment> init) {
  add_buffer(name, BufferKind::Weight, elements, InitKind::Weights, model_.dtype).weight_init = std::move(init);
  return last_buffer();
}

int ProgramBuilder::linear_weight(const std::string& name, int64_t elements, std::vector<WeightSegment> init) {
  add_buffer(name, BufferKind::Weight, elements, InitKind::Weights, model_.weight_dtype).weight_init = std::move(init);
  return last_buffer();
}

int ProgramBuilder::kv_cache(const std::string& name, int64_t elements, InitKind k_or_v, KVInit init) {
  add_buffer(name, BufferKind::KVCache, elements, k_or_v, model_.kv_dtype).kv_init = std::move(init);
  return last_buffer();
}

int ProgramBuilder::activation(const std::string& name, int64_t elements) {
  add_buffer(name, BufferKind::Activation, elements, InitKind::Filler, model_.dtype);
  return last_buffer();
}

int ProgramBuilder::hidden_input(const std::string& name, int64_t elements, HiddenInit init) {
  add_buffer(name, BufferKind::Activation, elements, InitKind::Hidden, model_.dtype).hidden_init = init;
  return last_buffer();
}

int ProgramBuilder::staging(const std::string& name, int64_t elements) {
  add_buffer(name, BufferKind::Staging, elements, InitKind::Filler, model_.dtype);
  return last_buffer();
}

namespace {
Op make_op(OpKind kind, const std::string& name, int layer) {
  Op op;
  op.kind = kind;
  op.name = name;
  op.layer = layer;
  return op;
}
}  // namespace

int ProgramBuilder::push(Op op) {
  // Every view and the KV cache carry their buffer's storage type into the op's cost.
  for (View* v : {&op.a, &op.w, &op.out})
    if (v->buffer >= 0 && v->buffer < static_cast<int>(r_.buffers.size())) v->dtype = r_.buffers[v->buffer].dtype;
  if (op.kind == OpKind::Attention && op.k_cache >= 0) op.attn.kv_dtype = r_.buffers[op.k_cache].dtype;
  if (op.kind == OpKind::Attention) set_op_cost(op, eb(), attention_work_of(op.attn));
  else set_op_cost(op, eb());
  r_.ops.push_back(std::move(op));
  return last_op();
}

int ProgramBuilder::gemm(const std::string& name, int layer, View a, View w, View out, StreamId s,
                         std::vector<int> deps) {
  Op op = make_op(OpKind::Gemm, name, layer);
  op.stream = s;
  op.deps = std::move(deps);
  op.a = a;
  op.w = w;
  op.out = out;
  return push(std::move(op));
}

int ProgramBuilder::rmsnorm(const std::string& name, int layer, View a, View w, View out,
                            std::vector<int> deps) {
  Op op = make_op(OpKind::RmsNorm, name, layer);
  op.deps = std::move(deps);
  op.a = a;
  op.w = w;
  op.out = out;
  return push(std::move(op));
}

int ProgramBuilder::silu_mul(const std::string& name, int layer, View a, View out) {
  Op op = make_op(OpKind::SiluMul, name, layer);
  op.a = a;
  op.out = out;
  return push(std::move(op));
}

int ProgramBuilder::residual_add(const std::string& name, int layer, View a, View out,
                                 std::vector<int> deps) {
  Op op = make_op(OpKind::ResidualAdd, name, layer);
  op.deps = std::move(deps);
  op.a = a;
  op.out = out;
  return push(std::move(op));
}

int ProgramBuilder::copy(const std::string& name, int layer, View a, View out) {
  Op op = make_op(OpKind::Copy, name, layer);
  op.a = a;
  op.out = out;
  return push(std::move(op));
}

int ProgramBuilder::attention(const std::string& name, int layer, View qkv, int k_cache, int v_cache,
                              View out, const AttentionShape& s) {
  Op op = make_op(OpKind::Attention, name, layer);
  op.a = qkv;
  op.k_cache = k_cache;
  op.v_cache = v_cache;
  op.out = out;
  op.attn = s;
  return push(std::move(op));
}

int ProgramBuilder::collective(const std::string& name, int layer, CollectiveKind kind, View in,
                               View out, int group, StreamId s, std::vector<int> deps) {
  Op op = make_op(OpKind::Collective, name, layer);
  op.collective = kind;
  op.group_size = group;
  op.stream = s;
  op.deps = std::move(deps);
  op.a = in;
  op.out = out;
  return push(std::move(op));
}

int ProgramBuilder::push_moe(Op op, MoeTable table) {
  op.moe.table = static_cast<int>(r_.moe_tables.size());
  r_.moe_tables.push_back(std::move(table));
  return push(std::move(op));
}

int ProgramBuilder::moe_gate(const std::string& name, int layer, View logits, View gates, int64_t experts,
                             std::vector<int32_t> chosen) {
  Op op = make_op(OpKind::MoeGate, name, layer);
  op.a = logits;
  op.out = gates;
  op.moe.experts = experts;
  op.moe.top_k = gates.cols;
  MoeTable t;
  t.chosen = std::move(chosen);
  return push_moe(std::move(op), std::move(t));
}

int ProgramBuilder::gather_rows(const std::string& name, int layer, View a, View out,
                                std::vector<int64_t> source_rows, std::vector<int> deps) {
  Op op = make_op(OpKind::GatherRows, name, layer);
  op.deps = std::move(deps);
  op.a = a;
  op.out = out;
  MoeTable t;
  t.source_rows = std::move(source_rows);
  return push_moe(std::move(op), std::move(t));
}

int ProgramBuilder::grouped_gemm(const std::string& name, int layer, View a, View w, View out, MoeOpInfo info,
                                 std::vector<int64_t> group_rows) {
  Op op = make_op(OpKind::GroupedGemm, name, layer);
  op.a = a;
  op.w = w;
  op.out = out;
  op.moe = info;
  MoeTable t;
  t.group_rows = std::move(group_rows);
  return push_moe(std::move(op), std::move(t));
}

int ProgramBuilder::moe_combine(const std::string& name, int layer, View a, View gates, View out,
                                std::vector<MoeCombineTerm> terms, std::vector<int> deps) {
  Op op = make_op(OpKind::MoeCombine, name, layer);
  op.deps = std::move(deps);
  op.a = a;
  op.w = gates;
  op.out = out;
  MoeTable t;
  t.terms = std::move(terms);
  return push_moe(std::move(op), std::move(t));
}

std::vector<WeightSegment> fused_segments(int layer, int64_t rows, int64_t width,
                                          const std::vector<FusedPart>& parts, int64_t dst_base) {
  std::vector<WeightSegment> out;
  for (const FusedPart& p : parts) {
    out.push_back(WeightSegment{p.which, layer, p.row0, p.col0, rows, p.cols,
                                dst_base + p.fused_col, width});
  }
  return out;
}

namespace {
// Row piece [c0, c1) of fused row `row` of matrix m, written at dst.
void emit_row_piece(std::vector<WeightSegment>& out, int layer, const FlatMatrix& m, int64_t row,
                    int64_t nrows, int64_t c0, int64_t c1, int64_t dst) {
  for (const FusedPart& p : m.parts) {
    const int64_t lo = std::max(c0, p.fused_col), hi = std::min(c1, p.fused_col + p.cols);
    if (lo >= hi) continue;
    // nrows > 1 only for whole rows (c0 = 0, c1 = width): then ld = width.
    out.push_back(WeightSegment{p.which, layer, p.row0 + row, p.col0 + (lo - p.fused_col), nrows,
                                hi - lo, dst + (lo - c0), m.width});
  }
}
}  // namespace

std::vector<WeightSegment> flat_range_segments(int layer, const std::vector<FlatMatrix>& layout,
                                               int64_t flat0, int64_t count, int64_t dst_base) {
  std::vector<WeightSegment> out;
  const int64_t flat1 = flat0 + count;
  for (const FlatMatrix& m : layout) {
    const int64_t lo = std::max(flat0, m.base), hi = std::min(flat1, m.base + m.rows * m.width);
    if (lo >= hi) continue;
    int64_t f = lo - m.base;  // position inside the matrix
    const int64_t end = hi - m.base;
    while (f < end) {
      const int64_t row = f / m.width, col = f % m.width;
      if (col == 0 && end - f >= m.width) {  // a block of whole rows
        const int64_t nrows = (end - f) / m.width;
        emit_row_piece(out, layer, m, row, nrows, 0, m.width, dst_base + (m.base + f - flat0));
        f += nrows * m.width;
      } else {
        const int64_t c1 = std::min(m.width, col + (end - f));
        emit_row_piece(out, layer, m, row, 1, col, c1, dst_base + (m.base + f - flat0));
        f += c1 - col;
      }
    }
  }
  return out;
}

}  // namespace tpbench::detail
