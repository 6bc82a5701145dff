#pragma once
// The row maps of a rank's mixture-of-experts ops (RankProgram::moe_tables) as a GPU backend
// holds them: every index as int32 in one array uploaded at prepare time, each table's arrays at
// offsets into it, and the grouped GEMMs' non-empty groups. Host-only, so that the layout and its
// bytes (which the device memory plan counts) are unit-tested without a device.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/plan/step_program.hpp"

namespace tpbench {

// MoeCombine's terms by output row (compressed sparse rows): the terms of out row o are
// [row_start[o], row_start[o + 1]), in the table's order, so that one thread block can sum a row
// in a fixed order without atomics (the same result on every graph replay). gate: the gate's
// element offset in the op's w view (gate_row * w.ld + gate_col); source: the a row.
struct MoeCombineCsr {
  std::vector<int32_t> row_start;  // out.rows + 1
  std::vector<int32_t> gate, source;
};
MoeCombineCsr combine_csr(const Op& op, const MoeTable& t);

// One group of a GroupedGemm that received rows: rows [row0, row0 + rows) times the weight block
// of group `group`.
struct MoeGroupRun {
  int64_t group = 0, row0 = 0, rows = 0;
};
std::vector<MoeGroupRun> nonempty_groups(const MoeTable& t);

// Where one table's arrays are in MoeDeviceTables::indices (int32 element offsets; -1: the op
// kind has no such array).
struct MoeTableLayout {
  OpKind kind = OpKind::MoeGate;
  int64_t chosen = -1;          // MoeGate: rows * k expert ids
  int64_t source_rows = -1;     // GatherRows: one source row per out row (-1: untouched)
  int64_t csr_start = -1, csr_gate = -1, csr_source = -1;  // MoeCombine: MoeCombineCsr
  std::vector<MoeGroupRun> groups;  // GroupedGemm: the groups that received rows
  int64_t pointer_slot = -1;        // GroupedGemm: first of 3 * groups.size() device pointers
};

struct MoeDeviceTables {
  std::vector<int32_t> indices;
  std::vector<MoeTableLayout> tables;  // per RankProgram::moe_tables entry
  // Device pointer arrays of the grouped GEMMs (A, B and C per non-empty group, cuBLAS's grouped
  // batched GEMM reads them from device memory).
  int64_t pointer_slots = 0;
  int64_t bytes() const {
    return int64_t(indices.size()) * int64_t(sizeof(int32_t)) + pointer_slots * int64_t(sizeof(void*));
  }
};

// Throws std::logic_error when an op's table is missing or an index does not fit in int32.
MoeDeviceTables pack_moe_tables(const RankProgram& r);

// Why the cuda backend cannot run the rank's grouped GEMMs, or nothing: they run as BF16 cuBLAS
// grouped GEMMs, and FP8 expert weights would need an FP8 grouped GEMM with per-tensor scales,
// which is not written (the cpu backend runs them); cuBLAS wants the BF16 matrices of a grouped
// GEMM 16-byte aligned (cuBLAS documentation, cublasGemmGroupedBatchedEx: pointer alignment).
std::optional<std::string> grouped_gemm_refusal(const RankProgram& r);

}  // namespace tpbench
