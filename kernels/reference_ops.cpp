#include "kernels/reference_ops.hpp"

#include <algorithm>
#include <stdexcept>

namespace tpbench::kernels {

double wave_efficiency(int64_t ctas, int64_t slots) {
  if (ctas <= 0 || slots <= 0) return 0.0;
  const double waves = double(ctas) / double(slots);
  return waves / double(ceil_div(ctas, slots));
}

int64_t choose_splits(int64_t units, int64_t slots, int64_t min_splits, int64_t max_splits) {
  if (units <= 0 || slots <= 0) throw std::invalid_argument("choose_splits: units and slots must be positive");
  min_splits = std::max<int64_t>(1, min_splits);
  max_splits = std::max(min_splits, max_splits);
  double best = 0.0;
  for (int64_t s = min_splits; s <= max_splits; ++s) best = std::max(best, wave_efficiency(units * s, slots));
  for (int64_t s = min_splits; s <= max_splits; ++s)
    if (wave_efficiency(units * s, slots) >= 0.9 * best) return s;
  return max_splits;  // unreachable: the best one qualifies
}

bool attention_uses_split_path(const AttentionDims& s) {
  return !s.kv_fp8 && s.new_tokens == 1 && s.head_dim == kAttnFastHeadDim && s.kv_heads > 0 && s.q_heads % s.kv_heads == 0 &&
         s.q_heads / s.kv_heads <= kAttnMaxGroup;
}

AttentionSplitPlan attention_split_plan(const AttentionDims& s, int sm_count) {
  if (s.batch <= 0 || s.kv_heads <= 0 || s.context() <= 0 || sm_count <= 0)
    throw std::invalid_argument("attention_split_plan: batch, kv_heads, context and sm_count must be positive");
  const int64_t S = s.context();
  const int64_t units = s.batch * s.kv_heads;
  const int64_t max_splits = std::min(kAttnMaxSplits, ceil_div(S, kAttnMinPositionsPerSplit));
  int64_t splits = choose_splits(units, int64_t(sm_count) * kAttnCtasPerSm, 1, max_splits);
  AttentionSplitPlan p;
  // Whole tiles per split; recounting afterwards drops splits that would be empty.
  p.positions_per_split = round_up(ceil_div(S, splits), kAttnTilePositions);
  p.splits = ceil_div(S, p.positions_per_split);
  p.ctas = units * p.splits;
  return p;
}

int64_t attention_workspace_max_offset(const AttentionDims& s, int64_t splits) {
  return s.batch * s.q_heads * splits * s.head_dim;
}
int64_t attention_workspace_sum_offset(const AttentionDims& s, int64_t splits) {
  return attention_workspace_max_offset(s, splits) + s.batch * s.q_heads * splits;
}

double attention_kv_read_bytes(const AttentionDims& s) {
  return 2.0 * double(s.batch) * double(s.kv_heads) * double(s.context()) * double(s.head_dim) * 2.0;
}

size_t attention_workspace_bytes(const AttentionDims& s, int sm_count) {
  if (!attention_uses_split_path(s)) return 0;
  const AttentionSplitPlan p = attention_split_plan(s, sm_count);
  if (p.splits == 1) return 0;
  const int64_t floats = attention_workspace_sum_offset(s, p.splits) + s.batch * s.q_heads * p.splits;
  return size_t(round_up(floats * int64_t(sizeof(float)), 256));
}

bool skinny_gemm_shape_supported(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldw, int64_t ldo) {
  return m >= 1 && m <= kSkinnyMaxM && n >= 8 && n % 8 == 0 && n <= kSkinnyMaxNTiles * kSkinnyNTile && k >= 1 && lda >= k && ldw >= n && ldw % 8 == 0 &&
         ldo >= n;
}

int skinny_gemm_m_tile(int64_t m) {
  if (m < 1 || m > kSkinnyMaxM) throw std::invalid_argument("skinny_gemm_m_tile: m must be in [1, 16]");
  int t = 1;
  while (t < m) t *= 2;
  return t;
}

int64_t skinny_gemm_ctas_per_sm(int64_t m) { return skinny_gemm_m_tile(m) <= 8 ? 2 : 1; }

SkinnyGemmPlan skinny_gemm_plan(int64_t m, int64_t n, int64_t k, int sm_count) {
  if (m < 1 || n < 1 || k < 1 || sm_count <= 0)
    throw std::invalid_argument("skinny_gemm_plan: m, n, k and sm_count must be positive");
  SkinnyGemmPlan p;
  p.n_tiles = ceil_div(n, kSkinnyNTile);
  const int64_t min_splits = ceil_div(k, kSkinnyMaxKChunk);
  const int64_t max_splits = std::max(min_splits, ceil_div(k, kSkinnyMinKChunk));
  const int64_t splits = choose_splits(p.n_tiles, int64_t(sm_count) * skinny_gemm_ctas_per_sm(m), min_splits, max_splits);
  p.k_per_split = round_up(ceil_div(k, splits), kSkinnyKStep);
  p.k_splits = ceil_div(k, p.k_per_split);
  p.ctas = p.n_tiles * p.k_splits;
  return p;
}

size_t skinny_gemm_workspace_bytes(int64_t m, int64_t n, int64_t k, int sm_count) {
  const SkinnyGemmPlan p = skinny_gemm_plan(m, n, k, sm_count);
  if (p.k_splits == 1) return 0;
  return kSkinnyCounterBytes + size_t(round_up(p.k_splits * m * n * int64_t(sizeof(float)), 256));
}

void skinny_gemm_reference(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* w,
                           int64_t ldw, float* out, int64_t ldo) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += double(a[i * lda + p]) * double(w[p * ldw + j]);
      out[i * ldo + j] = float(acc);
    }
}

}  // namespace tpbench::kernels
