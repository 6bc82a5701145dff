#include "harness/backend/moe_device_tables.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace tpbench {
namespace {

[[noreturn]] void bad_table(const Op& op, const std::string& why) {
  throw std::logic_error("mixture-of-experts op '" + op.name + "': " + why);
}

// Narrows a value the kernels read as int32; a table that large is a plan bug, not an input.
int32_t index32(const Op& op, int64_t v) {
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
    bad_table(op, "index " + std::to_string(v) + " does not fit in int32");
  return int32_t(v);
}

int64_t append(std::vector<int32_t>& to, const std::vector<int32_t>& from) {
  const int64_t at = int64_t(to.size());
  to.insert(to.end(), from.begin(), from.end());
  return at;
}

void lay_out_gate(const Op& op, const MoeTable& t, MoeDeviceTables& d, MoeTableLayout& l) {
  if (int64_t(t.chosen.size()) != op.a.rows * op.moe.top_k || op.out.cols < op.moe.top_k)
    bad_table(op, "expects " + std::to_string(op.a.rows * op.moe.top_k) + " chosen experts");
  for (int32_t e : t.chosen)
    if (e < 0 || e >= op.a.cols) bad_table(op, "expert " + std::to_string(e) + " outside the logits");
  l.chosen = append(d.indices, t.chosen);
}

void lay_out_gather(const Op& op, const MoeTable& t, MoeDeviceTables& d, MoeTableLayout& l) {
  if (int64_t(t.source_rows.size()) != op.out.rows) bad_table(op, "needs one source row per out row");
  std::vector<int32_t> rows;
  for (int64_t s : t.source_rows) {
    if (s < -1 || s >= op.a.rows) bad_table(op, "source row " + std::to_string(s) + " outside its input");
    rows.push_back(index32(op, s));
  }
  l.source_rows = append(d.indices, rows);
}

void lay_out_combine(const Op& op, const MoeTable& t, MoeDeviceTables& d, MoeTableLayout& l) {
  const MoeCombineCsr c = combine_csr(op, t);
  l.csr_start = append(d.indices, c.row_start);
  l.csr_gate = append(d.indices, c.gate);
  l.csr_source = append(d.indices, c.source);
}

void lay_out_grouped(const Op& op, const MoeTable& t, MoeDeviceTables& d, MoeTableLayout& l) {
  if (int64_t(t.group_rows.size()) > op.moe.groups) bad_table(op, "has more row groups than experts");
  l.groups = nonempty_groups(t);
  if (!l.groups.empty() && l.groups.back().row0 + l.groups.back().rows > op.a.rows)
    bad_table(op, "its groups cover more rows than its input has");
  for (const MoeGroupRun& g : l.groups) (void)index32(op, g.rows);  // cuBLAS takes int dimensions
  l.pointer_slot = d.pointer_slots;
  d.pointer_slots += 3 * int64_t(l.groups.size());
}

}  // namespace

MoeCombineCsr combine_csr(const Op& op, const MoeTable& t) {
  const int64_t rows = op.out.rows;
  MoeCombineCsr c;
  std::vector<int64_t> count(size_t(rows) + 1, 0);
  for (const MoeCombineTerm& x : t.terms) {
    if (x.out_row < 0 || x.out_row >= rows || x.source_row < 0 || x.source_row >= op.a.rows || x.gate_row < 0 ||
        x.gate_row >= op.w.rows || x.gate_col < 0 || x.gate_col >= op.w.cols)
      bad_table(op, "a combine term lies outside its views");
    ++count[size_t(x.out_row) + 1];
  }
  for (int64_t o = 0; o < rows; ++o) count[size_t(o) + 1] += count[size_t(o)];
  for (int64_t v : count) c.row_start.push_back(index32(op, v));
  // A stable scatter: each row's terms keep the table's order.
  std::vector<int64_t> next(count.begin(), count.end() - 1);
  c.gate.resize(t.terms.size());
  c.source.resize(t.terms.size());
  for (const MoeCombineTerm& x : t.terms) {
    const size_t at = size_t(next[size_t(x.out_row)]++);
    c.gate[at] = index32(op, x.gate_row * op.w.ld + x.gate_col);
    c.source[at] = index32(op, x.source_row);
  }
  return c;
}

std::vector<MoeGroupRun> nonempty_groups(const MoeTable& t) {
  std::vector<MoeGroupRun> out;
  int64_t row = 0;
  for (size_t g = 0; g < t.group_rows.size(); ++g) {
    if (t.group_rows[g] > 0) out.push_back({int64_t(g), row, t.group_rows[g]});
    row += t.group_rows[g];
  }
  return out;
}

MoeDeviceTables pack_moe_tables(const RankProgram& r) {
  MoeDeviceTables d;
  d.tables.resize(r.moe_tables.size());
  std::vector<bool> laid_out(r.moe_tables.size(), false);
  for (const Op& op : r.ops) {
    if (op.kind != OpKind::MoeGate && op.kind != OpKind::GatherRows && op.kind != OpKind::GroupedGemm &&
        op.kind != OpKind::MoeCombine)
      continue;
    if (op.moe.table < 0 || size_t(op.moe.table) >= r.moe_tables.size()) bad_table(op, "has no row map");
    const size_t ti = size_t(op.moe.table);
    if (laid_out[ti]) bad_table(op, "shares its row map with another op");
    laid_out[ti] = true;
    const MoeTable& t = r.moe_tables[ti];
    MoeTableLayout& l = d.tables[ti];
    l.kind = op.kind;
    switch (op.kind) {
      case OpKind::MoeGate: lay_out_gate(op, t, d, l); break;
      case OpKind::GatherRows: lay_out_gather(op, t, d, l); break;
      case OpKind::MoeCombine: lay_out_combine(op, t, d, l); break;
      case OpKind::GroupedGemm: lay_out_grouped(op, t, d, l); break;
      default: break;
    }
  }
  return d;
}

std::optional<std::string> grouped_gemm_refusal(const RankProgram& r) {
  for (const Op& op : r.ops) {
    if (op.kind != OpKind::GroupedGemm) continue;
    if (op.w.dtype != DType::BF16)
      return std::string(dtype_name(op.w.dtype)) + " expert weights on the cuda backend are not implemented (grouped GEMM '" +
             op.name + "'); the cpu backend runs them";
    // Buffers start 256-byte aligned: 8 BF16 elements keep a matrix 16-byte aligned.
    bool aligned = true;
    for (int64_t v : {op.w.offset, op.moe.weight_stride, op.w.ld, op.a.offset, op.a.ld, op.out.offset, op.out.ld})
      aligned = aligned && v % 8 == 0;
    if (!aligned)
      return "grouped GEMM '" + op.name + "': its expert weights or rows do not start at multiples of 8 BF16 elements "
             "(16 bytes), which the cuda backend's cuBLAS grouped GEMM needs";
  }
  return std::nullopt;
}

}  // namespace tpbench
