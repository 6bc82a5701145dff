#pragma once
// Plain C++ (no CUDA headers) beside the CUDA kernels: FP32 references of the same math and the
// kernels' shape logic (split counts, workspace sizes, grids), so both are unit-tested on the CPU.
// The attention, RMSNorm, SiLU-and-multiply and residual-add references are the CPU backend's own
// ops (harness/backend/detail/cpu_ops.hpp); the GPU tests compare the kernels with those directly.
#include <cstddef>
#include <cstdint>

namespace tpbench::kernels {

// ---- split heuristic shared by the flash-decoding attention and the split-K skinny GEMM ----------
// `units` independent CTAs exist before splitting; `slots` = SMs x resident CTAs per SM. A wave is
// `slots` CTAs; the wave efficiency of s splits is (units*s/slots) / ceil(units*s/slots), the share
// of the last wave's slots that do work. We take the smallest s in [min_splits, max_splits] whose
// efficiency is >= 0.9 x the best one: more splits cost combine work and shorter CTAs, fewer leave
// SMs idle (batch 1 at a 10k context otherwise runs 8 CTAs on 132 SMs).
int64_t choose_splits(int64_t units, int64_t slots, int64_t min_splits, int64_t max_splits);
double wave_efficiency(int64_t ctas, int64_t slots);

// ---- decode attention ------------------------------------------------------------------------
constexpr int64_t kAttnTilePositions = 32;         // positions per pipeline stage of the fast kernel
constexpr int64_t kAttnMinPositionsPerSplit = 64;  // a split streams at least 2 tiles
constexpr int64_t kAttnMaxSplits = 256;            // bounds the workspace
constexpr int64_t kAttnCtasPerSm = 2;              // __launch_bounds__(128, 2), ~86 KB of shared memory
constexpr int64_t kAttnFastHeadDim = 128;
constexpr int64_t kAttnMaxGroup = 16;              // q heads per KV head: the 16 rows of an MMA tile

struct AttentionDims {
  int64_t batch = 0, new_tokens = 1, prior = 0, q_heads = 0, kv_heads = 0, head_dim = 0;
  bool kv_fp8 = false;  // the KV cache is E4M3 with one scale per tensor (kernels/detail/fp8_e4m3.hpp)
  int64_t context() const { return prior + new_tokens; }
};

// The split (flash-decoding) path runs for T = 1, head_dim 128, at most 16 q heads per KV head
// and a BF16 cache (its tensor-core tiles load K/V as BF16); everything else (prefill chunks,
// other head sizes, an FP8 cache) runs the simple kernel without workspace.
bool attention_uses_split_path(const AttentionDims& s);

struct AttentionSplitPlan {
  int64_t splits = 1;               // along the context
  int64_t positions_per_split = 0;  // a multiple of kAttnTilePositions
  int64_t ctas = 0;                 // batch x kv_heads x splits
};
AttentionSplitPlan attention_split_plan(const AttentionDims& s, int sm_count);

// Bytes of workspace: 0 when splits == 1 or the simple path runs; otherwise FP32 partial outputs
// [batch][q_heads][splits][head_dim] then the running max and sum [batch][q_heads][splits] each.
size_t attention_workspace_bytes(const AttentionDims& s, int sm_count);
// Bytes of K and V one decode-attention call reads: every visible position of every sequence,
// once per KV head (the q heads of a group share it), BF16: 2 x batch x kv_heads x context x
// head_dim x 2 B. What the bandwidth figures of calibrate and the benchmark divide by time.
double attention_kv_read_bytes(const AttentionDims& s);
// Offsets (in floats) of the max and the sum arrays inside that workspace.
int64_t attention_workspace_max_offset(const AttentionDims& s, int64_t splits);
int64_t attention_workspace_sum_offset(const AttentionDims& s, int64_t splits);

// ---- skinny GEMM -----------------------------------------------------------------------------
constexpr int64_t kSkinnyMaxM = 16;
constexpr int64_t kSkinnyNTile = 64;       // columns per CTA: 8 lanes x 8 BF16 (16 bytes) each
constexpr int64_t kSkinnyKStep = 32;       // rows per CTA step: 8 warps x 4 rows
constexpr int64_t kSkinnyMaxKChunk = 1024; // rows per CTA: A's slice is staged in shared memory
constexpr int64_t kSkinnyMinKChunk = 256;
// The split-K counters sit at a fixed place (the first 16 KB of the workspace, one int per N tile)
// whatever the shape, so one zeroed workspace can serve every shape in turn: a shape's partials
// never land on another shape's counters. Hence N <= 4096 tiles x 64 = 262144 columns.
constexpr int64_t kSkinnyMaxNTiles = 4096;
// Resident CTAs per SM the kernel is built for: __launch_bounds__(256, 2) up to an M tile of 8;
// the 16-row tile keeps 128 FP32 accumulators per thread and runs one CTA per SM.
int64_t skinny_gemm_ctas_per_sm(int64_t m);

// M in [1, 16]; N a multiple of 8 (16-byte vectors of W), at most 262144; leading dimensions at least the widths;
// ldw a multiple of 8 (every W row starts 16-byte aligned). Pointer alignment is checked at launch.
bool skinny_gemm_shape_supported(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldw, int64_t ldo);
// The compiled M tile a given m runs with: 1, 2, 4, 8 or 16 (rows above m are zero, not stored).
int skinny_gemm_m_tile(int64_t m);

struct SkinnyGemmPlan {
  int64_t n_tiles = 0, k_splits = 1, k_per_split = 0, ctas = 0;
};
SkinnyGemmPlan skinny_gemm_plan(int64_t m, int64_t n, int64_t k, int sm_count);
// 0 when k_splits == 1; else the counters (kSkinnyMaxNTiles ints, the N tiles' first) then FP32
// partials [k_splits][m][n]. The counters must be zero before the first call (cudaMemset once);
// every call leaves them zero again.
size_t skinny_gemm_workspace_bytes(int64_t m, int64_t n, int64_t k, int sm_count);
constexpr size_t kSkinnyCounterBytes = size_t(kSkinnyMaxNTiles) * sizeof(int);

// out[m][n] = sum_k a[m][k] * w[k][n] (row-major, leading dimensions), accumulated in double.
void skinny_gemm_reference(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* w,
                           int64_t ldw, float* out, int64_t ldo);

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

}  // namespace tpbench::kernels
