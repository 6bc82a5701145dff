// CPU tests of the kernels' host side: the skinny GEMM reference against hand-computed numbers
// and a naive loop, and the shape logic (split heuristic, plans, workspace sizes) against values
// derived by hand in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels/detail/counter_rng.hpp"
#include "kernels/reference_ops.hpp"

namespace tpbench::kernels {
namespace {

TEST(KernelReference, WaveEfficiency) {
  EXPECT_DOUBLE_EQ(wave_efficiency(264, 264), 1.0);
  EXPECT_DOUBLE_EQ(wave_efficiency(132, 264), 0.5);
  EXPECT_NEAR(wave_efficiency(265, 264), 265.0 / 528.0, 1e-12);  // a second wave with one CTA
  EXPECT_DOUBLE_EQ(wave_efficiency(0, 264), 0.0);
}

TEST(KernelReference, ChooseSplitsFillsTheGpu) {
  // 8 units on 264 slots: best efficiency 1.0 at s = 33; the smallest s with 8s/264 >= 0.9 is 30.
  EXPECT_EQ(choose_splits(8, 264, 1, 157), 30);
  // Already 7.76 waves: efficiency 0.97 at s = 1, no split.
  EXPECT_EQ(choose_splits(2048, 264, 1, 100), 1);
  // One unit, at most 25 splits: best is 25/264; the smallest s with s >= 0.9 * 25 = 22.5 is 23.
  EXPECT_EQ(choose_splits(1, 264, 1, 25), 23);
  // The minimum is honoured even when it is not efficient.
  EXPECT_EQ(choose_splits(2048, 264, 4, 4), 4);
  EXPECT_THROW(choose_splits(0, 264, 1, 4), std::invalid_argument);
}

TEST(KernelReference, AttentionSplitPlanBatch1Context10k) {
  AttentionDims d{.batch = 1, .new_tokens = 1, .prior = 10000, .q_heads = 64, .kv_heads = 8, .head_dim = 128};
  ASSERT_TRUE(attention_uses_split_path(d));
  // 8 units, 132 SMs x 2 CTAs = 264 slots, at most ceil(10001/64) = 157 splits -> 30 splits;
  // ceil(10001/30) = 334 -> 352 positions (11 tiles) -> ceil(10001/352) = 29 splits, 232 CTAs.
  const AttentionSplitPlan p = attention_split_plan(d, 132);
  EXPECT_EQ(p.positions_per_split, 352);
  EXPECT_EQ(p.splits, 29);
  EXPECT_EQ(p.ctas, 232);
  // Workspace: 64 heads x 29 splits x (128 partial outputs + max + sum) floats = 241280 floats.
  EXPECT_EQ(attention_workspace_bytes(d, 132), size_t(241280 * 4));
  EXPECT_EQ(attention_workspace_max_offset(d, 29), 64 * 29 * 128);
  EXPECT_EQ(attention_workspace_sum_offset(d, 29), 64 * 29 * 128 + 64 * 29);
}

TEST(KernelReference, AttentionSplitPlanCoversTheContextExactly) {
  for (int64_t batch : {1, 3, 32, 256})
    for (int64_t prior : {0, 31, 1000, 10000, 131071})
      for (int sms : {1, 78, 132, 144}) {
        AttentionDims d{.batch = batch, .new_tokens = 1, .prior = prior, .q_heads = 8, .kv_heads = 1, .head_dim = 128};
        const AttentionSplitPlan p = attention_split_plan(d, sms);
        const int64_t S = d.context();
        EXPECT_EQ(p.positions_per_split % kAttnTilePositions, 0);
        EXPECT_GE(p.splits, 1);
        EXPECT_LE(p.splits, kAttnMaxSplits);
        EXPECT_LT((p.splits - 1) * p.positions_per_split, S) << "an empty split";
        EXPECT_GE(p.splits * p.positions_per_split, S) << "uncovered positions";
        EXPECT_EQ(p.ctas, batch * p.splits);
        EXPECT_EQ(attention_workspace_bytes(d, sms) == 0, p.splits == 1);
      }
}

// K and V bytes read by one call, written out by hand: TP8 of Llama-3.1-70B (1 KV head of 128),
// batch 64 at a 10,240-token context: 2 x 64 x 1 x 10,240 x 128 x 2 B = 335,544,320 B.
TEST(KernelReference, AttentionKvReadBytes) {
  EXPECT_DOUBLE_EQ(attention_kv_read_bytes(AttentionDims{64, 1, 10239, 8, 1, 128}), 335544320.0);
  // TP1 (8 KV heads), batch 1: 2 x 8 x 10,240 x 128 x 2 = 41,943,040 B; q heads do not count.
  EXPECT_DOUBLE_EQ(attention_kv_read_bytes(AttentionDims{1, 1, 10239, 64, 8, 128}), 41943040.0);
}

TEST(KernelReference, AttentionLargeBatchAndPrefillNeedNoWorkspace) {
  AttentionDims big{.batch = 256, .new_tokens = 1, .prior = 4096, .q_heads = 64, .kv_heads = 8, .head_dim = 128};
  EXPECT_EQ(attention_split_plan(big, 132).splits, 1);  // 2048 CTAs are 7.8 waves already
  EXPECT_EQ(attention_workspace_bytes(big, 132), 0u);
  AttentionDims prefill = big;
  prefill.new_tokens = 512;
  EXPECT_FALSE(attention_uses_split_path(prefill));
  EXPECT_EQ(attention_workspace_bytes(prefill, 132), 0u);
  AttentionDims tiny{.batch = 1, .new_tokens = 1, .prior = 50, .q_heads = 8, .kv_heads = 2, .head_dim = 32};
  EXPECT_FALSE(attention_uses_split_path(tiny));
  AttentionDims wide{.batch = 1, .new_tokens = 1, .prior = 50, .q_heads = 64, .kv_heads = 2, .head_dim = 128};
  EXPECT_FALSE(attention_uses_split_path(wide));  // 32 q heads per KV head exceed the 16 MMA rows
}

TEST(KernelReference, SkinnyGemmShapeRules) {
  EXPECT_TRUE(skinny_gemm_shape_supported(1, 1280, 8192, 8192, 1280, 1280));
  EXPECT_TRUE(skinny_gemm_shape_supported(16, 8, 1, 1, 8, 8));
  EXPECT_FALSE(skinny_gemm_shape_supported(0, 1280, 8192, 8192, 1280, 1280));
  EXPECT_FALSE(skinny_gemm_shape_supported(17, 1280, 8192, 8192, 1280, 1280));
  EXPECT_FALSE(skinny_gemm_shape_supported(1, 1284, 8192, 8192, 1288, 1284));  // n % 8
  EXPECT_TRUE(skinny_gemm_shape_supported(1, 262144, 64, 64, 262144, 262144));
  EXPECT_FALSE(skinny_gemm_shape_supported(1, 262152, 64, 64, 262152, 262152));  // > 4096 N tiles
  EXPECT_FALSE(skinny_gemm_shape_supported(1, 1280, 8192, 8192, 1284, 1280));  // ldw % 8
  EXPECT_FALSE(skinny_gemm_shape_supported(1, 1280, 8192, 8191, 1280, 1280));  // lda < k
  EXPECT_FALSE(skinny_gemm_shape_supported(1, 1280, 8192, 8192, 1280, 1279));  // ldo < n
  EXPECT_EQ(skinny_gemm_m_tile(1), 1);
  EXPECT_EQ(skinny_gemm_m_tile(3), 4);
  EXPECT_EQ(skinny_gemm_m_tile(5), 8);
  EXPECT_EQ(skinny_gemm_m_tile(9), 16);
  EXPECT_EQ(skinny_gemm_m_tile(16), 16);
  EXPECT_THROW(skinny_gemm_m_tile(17), std::invalid_argument);
  EXPECT_EQ(skinny_gemm_ctas_per_sm(8), 2);
  EXPECT_EQ(skinny_gemm_ctas_per_sm(9), 1);
}

TEST(KernelReference, SkinnyGemmPlanLlama70bQkvTp8) {
  // m 1, n 1280 ((64 + 2*8) * 128 / 8), k 8192 on 132 SMs: 20 N tiles, 264 slots, 8..32 splits;
  // best efficiency 260/264 at s = 13; the smallest s with 20s/264 >= 0.9 * 260/264 is 12;
  // ceil(8192/12) = 683 -> 704 rows per split -> 12 splits, 240 CTAs.
  const SkinnyGemmPlan p = skinny_gemm_plan(1, 1280, 8192, 132);
  EXPECT_EQ(p.n_tiles, 20);
  EXPECT_EQ(p.k_per_split, 704);
  EXPECT_EQ(p.k_splits, 12);
  EXPECT_EQ(p.ctas, 240);
  // The fixed 16 KB of counters, then 12 x 1 x 1280 floats = 61440 bytes.
  EXPECT_EQ(skinny_gemm_workspace_bytes(1, 1280, 8192, 132), size_t(16384 + 61440));
}

TEST(KernelReference, SkinnyGemmPlanInvariants) {
  for (int64_t m : {1, 4, 16})
    for (int64_t n : {8, 1024, 7168, 28672 * 2 / 8, 128256})
      for (int64_t k : {1, 100, 1024, 8192, 28672})
        for (int sms : {1, 132}) {
          const SkinnyGemmPlan p = skinny_gemm_plan(m, n, k, sms);
          EXPECT_EQ(p.k_per_split % kSkinnyKStep, 0);
          EXPECT_LE(p.k_per_split, std::max<int64_t>(kSkinnyMaxKChunk, kSkinnyKStep));
          EXPECT_LT((p.k_splits - 1) * p.k_per_split, k);
          EXPECT_GE(p.k_splits * p.k_per_split, k);
          EXPECT_EQ(p.n_tiles, (n + 63) / 64);
          EXPECT_EQ(skinny_gemm_workspace_bytes(m, n, k, sms) == 0, p.k_splits == 1);
        }
}

TEST(KernelReference, SkinnyGemmReferenceHandComputed) {
  // A = [[1, 2], [3, 4]] (lda 3), W = [[1, 2, 3], [4, 5, 6]] (ldw 4), out ldo 5.
  const std::vector<float> a = {1, 2, -99, 3, 4, -99};
  const std::vector<float> w = {1, 2, 3, -99, 4, 5, 6, -99};
  std::vector<float> out(10, -7.f);
  skinny_gemm_reference(2, 3, 2, a.data(), 3, w.data(), 4, out.data(), 5);
  EXPECT_EQ(out[0], 9.f);
  EXPECT_EQ(out[1], 12.f);
  EXPECT_EQ(out[2], 15.f);
  EXPECT_EQ(out[5], 19.f);
  EXPECT_EQ(out[6], 26.f);
  EXPECT_EQ(out[7], 33.f);
  EXPECT_EQ(out[3], -7.f);  // padding untouched
  EXPECT_EQ(out[9], -7.f);
}

TEST(KernelReference, SkinnyGemmReferenceMatchesNaiveLoop) {
  const int64_t m = 5, n = 24, k = 37, lda = 40, ldw = 32, ldo = 30;
  std::vector<float> a(m * lda), w(k * ldw), out(m * ldo);
  for (size_t i = 0; i < a.size(); ++i) a[i] = rng::uniform_pm1(1, 1, i);
  for (size_t i = 0; i < w.size(); ++i) w[i] = rng::uniform_pm1(1, 2, i);
  skinny_gemm_reference(m, n, k, a.data(), lda, w.data(), ldw, out.data(), ldo);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float naive = 0.f;
      for (int64_t p = 0; p < k; ++p) naive += a[i * lda + p] * w[p * ldw + j];
      EXPECT_NEAR(out[i * ldo + j], naive, 1e-4f) << i << "," << j;
    }
}

}  // namespace
}  // namespace tpbench::kernels
