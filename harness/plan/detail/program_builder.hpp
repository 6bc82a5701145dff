#pragma once
// Helpers the plans share: declaring buffers, appending ops with their costs filled in,
// and describing weight shards as segments of the unsharded (logical) weights.
#include <string>
#include <utility>
#include <vector>

#include "harness/plan/step_program.hpp"

namespace tpbench::detail {

// A `rows` x `cols` view of a buffer starting `offset` elements in, rows `ld` apart (0: cols).
// `rule`: how the rows follow the step's work (fixed unless said).
inline View buffer_view(int buffer, int64_t rows, int64_t cols, int64_t ld = 0, int64_t offset = 0, RowRule rule = {}) {
  return View{buffer, offset, rows, cols, ld > 0 ? ld : cols, rule};
}

class ProgramBuilder {
 public:
  ProgramBuilder(const ModelSpec& m, RankProgram& r) : model_(m), r_(r) {}

  // A weight in the model's dtype (norms, embedding, LM head); linear_weight: one of a layer's
  // linear weights, in the model's weight_dtype.
  int weight(const std::string& name, int64_t elements, std::vector<WeightSegment> init);
  int linear_weight(const std::string& name, int64_t elements, std::vector<WeightSegment> init);
  int kv_cache(const std::string& name, int64_t elements, InitKind k_or_v, KVInit init);
  int activation(const std::string& name, int64_t elements);  // Filler-initialised
  int hidden_input(const std::string& name, int64_t elements, HiddenInit init);
  int staging(const std::string& name, int64_t elements);

  // Each returns the op's index; `deps` are cross-stream waits (same-stream order is implied).
  int gemm(const std::string& name, int layer, View a, View w, View out, StreamId s = StreamId::Compute,
           std::vector<int> deps = {});
  int rmsnorm(const std::string& name, int layer, View a, View w, View out, std::vector<int> deps = {});
  int silu_mul(const std::string& name, int layer, View a, View out);
  int residual_add(const std::string& name, int layer, View a, View out, std::vector<int> deps = {});
  int copy(const std::string& name, int layer, View a, View out);
  int attention(const std::string& name, int layer, View qkv, int k_cache, int v_cache, View out,
                const AttentionShape& shape);
  int collective(const std::string& name, int layer, CollectiveKind kind, View in, View out, int group,
                 StreamId s, std::vector<int> deps);
  // Mixture-of-experts ops; each stores its row map as a new RankProgram::moe_tables entry.
  int moe_gate(const std::string& name, int layer, View logits, View gates, int64_t experts,
               std::vector<int32_t> chosen);
  int gather_rows(const std::string& name, int layer, View a, View out, std::vector<int64_t> source_rows,
                  std::vector<int> deps = {});
  int grouped_gemm(const std::string& name, int layer, View a, View w, View out, MoeOpInfo info,
                   std::vector<int64_t> group_rows);
  int moe_combine(const std::string& name, int layer, View a, View gates, View out,
                  std::vector<MoeCombineTerm> terms, std::vector<int> deps = {});

  int last_op() const { return static_cast<int>(r_.ops.size()) - 1; }
  int next_op() const { return static_cast<int>(r_.ops.size()); }
  RankProgram& program() { return r_; }
  const ModelSpec& model() const { return model_; }

 private:
  int push(Op op);
  int push_moe(Op op, MoeTable table);
  Buffer& add_buffer(const std::string& name, BufferKind kind, int64_t elements, InitKind init,
                     DType dtype);
  int last_buffer() const { return static_cast<int>(r_.buffers.size()) - 1; }
  double eb() const { return dtype_bytes(model_.dtype); }
  const ModelSpec& model_;
  RankProgram& r_;
};

// One column group of a fused weight: columns [col0, col0 + cols) of logical weight `which`
// land at fused columns starting at `fused_col`; rows [row0, row0 + rows) of it.
struct FusedPart {
  LogicalWeight which;
  int64_t row0, col0, cols, fused_col;
};

// Segments that fill a local fused weight of `rows` x `width` (row-major, ld = width) placed at
// dst_base, whose column groups are `parts` (all rows [row0, row0 + rows) of each logical).
std::vector<WeightSegment> fused_segments(int layer, int64_t rows, int64_t width,
                                          const std::vector<FusedPart>& parts, int64_t dst_base);

// A matrix inside a flat, concatenated layout of several matrices (the weight-gather plan
// stores 1/N of such a flat layer): its place, shape and column groups.
struct FlatMatrix {
  int64_t base, rows, width;
  std::vector<FusedPart> parts;
};
// Segments for flat elements [flat0, flat0 + count) of the layout, written contiguously from
// dst_base. Pieces of rows become single-row segments; whole rows become blocks.
std::vector<WeightSegment> flat_range_segments(int layer, const std::vector<FlatMatrix>& layout,
                                               int64_t flat0, int64_t count, int64_t dst_base);

}  // namespace tpbench::detail
