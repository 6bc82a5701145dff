// The mixture-of-experts row maps as the cuda backend uploads them (harness/backend/
// moe_device_tables.hpp) and the bytes the device memory plan counts for them: a hand-built rank
// whose layout and bytes are derived by hand, and the tiny-moe plans against a count per layer.
#include <gtest/gtest.h>

#include <stdexcept>

#include "harness/backend/device_memory_plan.hpp"
#include "harness/backend/moe_device_tables.hpp"
#include "harness/plan/plan.hpp"

using namespace tpbench;

namespace {

Op moe_op(OpKind kind, int table) {
  Op op;
  op.kind = kind;
  op.name = op_kind_name(kind);
  op.moe.table = table;
  return op;
}

// Three tokens, four experts, two per token: gate, gather into expert order, the grouped GEMM
// over experts 0, 2 and 3 (expert 1 got no rows), and the combine.
RankProgram hand_built_rank() {
  RankProgram r;
  Op gate = moe_op(OpKind::MoeGate, 0);
  gate.a.rows = 3, gate.a.cols = 4, gate.out.rows = 3, gate.out.cols = 2, gate.moe.top_k = 2;
  Op gather = moe_op(OpKind::GatherRows, 1);
  gather.a.rows = 3, gather.out.rows = 6;
  Op grouped = moe_op(OpKind::GroupedGemm, 2);
  grouped.a.rows = 6, grouped.moe.groups = 4;
  Op combine = moe_op(OpKind::MoeCombine, 3);
  combine.out.rows = 3, combine.a.rows = 6, combine.w.rows = 3, combine.w.cols = 2, combine.w.ld = 2;
  r.ops = {gate, gather, grouped, combine};
  r.moe_tables.resize(4);
  r.moe_tables[0].chosen = {0, 2, 3, 0, 2, 3};
  r.moe_tables[1].source_rows = {0, 1, 0, 2, 1, -1};
  r.moe_tables[2].group_rows = {2, 0, 3, 1};
  // Out of row order on purpose: the CSR keeps each row's terms in the table's order.
  r.moe_tables[3].terms = {{2, 2, 1, 5}, {0, 0, 0, 0}, {2, 2, 0, 4}, {0, 0, 1, 1}};
  return r;
}

}  // namespace

TEST(MoeDeviceTables, CombineCsrGroupsTermsByRowInTableOrder) {
  const RankProgram r = hand_built_rank();
  const MoeCombineCsr c = combine_csr(r.ops[3], r.moe_tables[3]);
  EXPECT_EQ(c.row_start, (std::vector<int32_t>{0, 2, 2, 4}));  // row 1 has no terms: zero
  // gate offsets gate_row * ld + gate_col with ld 2: row 0's (0,0)=0, (0,1)=1; row 2's (2,1)=5, (2,0)=4.
  EXPECT_EQ(c.gate, (std::vector<int32_t>{0, 1, 5, 4}));
  EXPECT_EQ(c.source, (std::vector<int32_t>{0, 1, 5, 4}));
}

TEST(MoeDeviceTables, GroupedGemmRunsOnlyTheGroupsThatReceivedRows) {
  const std::vector<MoeGroupRun> g = nonempty_groups(hand_built_rank().moe_tables[2]);
  ASSERT_EQ(g.size(), 3u);
  const int64_t expected[3][3] = {{0, 0, 2}, {2, 2, 3}, {3, 5, 1}};  // group, first row, rows
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(g[i].group, expected[i][0]);
    EXPECT_EQ(g[i].row0, expected[i][1]);
    EXPECT_EQ(g[i].rows, expected[i][2]);
  }
}

TEST(MoeDeviceTables, PackedLayoutAndBytesByHand) {
  const MoeDeviceTables t = pack_moe_tables(hand_built_rank());
  // int32: 6 chosen ids + 6 source rows + CSR (4 starts + 4 gates + 4 sources) = 24, in op order.
  ASSERT_EQ(t.indices.size(), 24u);
  EXPECT_EQ(t.tables[0].chosen, 0);
  EXPECT_EQ(t.tables[1].source_rows, 6);
  EXPECT_EQ(t.indices[size_t(t.tables[1].source_rows) + 5], -1);
  EXPECT_EQ(t.tables[3].csr_start, 12);
  EXPECT_EQ(t.tables[3].csr_gate, 16);
  EXPECT_EQ(t.tables[3].csr_source, 20);
  EXPECT_EQ(t.tables[2].pointer_slot, 0);
  EXPECT_EQ(t.pointer_slots, 9);  // A, B, C for each of 3 non-empty groups
  EXPECT_EQ(t.bytes(), 24 * 4 + 9 * 8);
  // The memory plan adds the grouped GEMMs' cuBLAS workspace: 168 B + 32 MiB.
  EXPECT_EQ(moe_device_bytes(hand_built_rank()), 168 + (32ll << 20));
  EXPECT_EQ(plan_device_memory(hand_built_rank(), 0).moe, 168 + (32ll << 20));
}

TEST(MoeDeviceTables, MalformedTablesAreRefused) {
  RankProgram r = hand_built_rank();
  r.moe_tables[1].source_rows[0] = 3;  // the input has rows 0..2
  EXPECT_THROW(pack_moe_tables(r), std::logic_error);
  r = hand_built_rank();
  r.moe_tables[0].chosen[1] = 4;  // four experts: ids 0..3
  EXPECT_THROW(pack_moe_tables(r), std::logic_error);
  r = hand_built_rank();
  r.moe_tables[3].terms[0].gate_col = 2;  // two gates per row
  EXPECT_THROW(pack_moe_tables(r), std::logic_error);
  r = hand_built_rank();
  r.moe_tables[2].group_rows = {2, 0, 3, 2};  // 7 rows of a 6-row input
  EXPECT_THROW(pack_moe_tables(r), std::logic_error);
  r = hand_built_rank();
  r.ops[3].moe.table = 7;
  EXPECT_THROW(pack_moe_tables(r), std::logic_error);
}

// tiny-moe decode at TP=1 (every expert on the rank): per MoE layer of M token rows and k = 2
// experts a token, 4Mk + M + 1 int32 (M*k chosen ids, M*k gather rows, the CSR's M + 1 starts and
// M*k gates and sources) and 3 pointers per non-empty group of each of its two grouped GEMMs.
TEST(MoeDeviceTables, TinyMoeBytesPerLayer) {
  StepConfig c;
  c.batch = 5;
  c.context = 64;
  const StepProgram p = build_program(preset_model("tiny-moe"), c);
  const RankProgram& r = p.ranks.at(0);
  const int64_t M = 5, k = 2, moe_layers = 2;
  int64_t nonempty = 0;
  for (const MoeTable& t : r.moe_tables)
    for (int64_t rows : t.group_rows) nonempty += rows > 0;
  EXPECT_GT(nonempty, 0);
  const MoeDeviceTables t = pack_moe_tables(r);
  EXPECT_EQ(int64_t(t.indices.size()), moe_layers * (4 * M * k + M + 1));
  EXPECT_EQ(t.pointer_slots, 3 * nonempty);
  EXPECT_EQ(plan_device_memory(r, 0).moe, t.bytes() + (32ll << 20));
  // A dense model asks for nothing.
  EXPECT_EQ(plan_device_memory(build_program(preset_model("tiny"), c).ranks.at(0), 0).moe, 0);
}

// The cuda backend's grouped GEMMs are BF16: a model with FP8 expert weights is refused by name
// (CudaBackend::cannot_run), a BF16 one is not.
TEST(MoeDeviceTables, Fp8ExpertWeightsAreRefusedByName) {
  StepConfig c;
  c.batch = 3;
  c.context = 64;
  ModelSpec m = preset_model("tiny-moe");
  EXPECT_FALSE(grouped_gemm_refusal(build_program(m, c).ranks.at(0)).has_value());
  m.weight_dtype = DType::FP8E4M3;
  const std::optional<std::string> why = grouped_gemm_refusal(build_program(m, c).ranks.at(0));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("expert weights on the cuda backend"), std::string::npos) << *why;
}

// cuBLAS's BF16 grouped GEMM wants 16-byte aligned matrices: an expert block that starts 4
// elements into a row is refused by name, the plans' own layouts (tiny-moe at every TP and EP) are not.
TEST(MoeDeviceTables, MisalignedExpertBlocksAreRefused) {
  StepConfig c;
  c.tp = 2;
  c.ep = 2;
  c.batch = 3;
  c.context = 64;
  for (int tp : {1, 2, 4, 8})
    for (int ep = 1; ep <= tp; ep *= 2) {
      StepConfig every = c;
      every.tp = tp;
      every.ep = ep;
      for (const RankProgram& r : build_program(preset_model("tiny-moe"), every).ranks)
        EXPECT_FALSE(grouped_gemm_refusal(r).has_value()) << "TP" << tp << " EP" << ep << " rank " << r.rank;
    }
  StepProgram p = build_program(preset_model("tiny-moe"), c);
  RankProgram& r = p.ranks.at(1);
  for (Op& op : r.ops)
    if (op.kind == OpKind::GroupedGemm) {
      op.moe.weight_stride += 4;
      break;
    }
  const std::optional<std::string> why = grouped_gemm_refusal(r);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("16 bytes"), std::string::npos) << *why;
}
