// The row rules over a step's work, on mixed steps (decodes and prefill chunks together) that no
// executable program has: every number below is worked out by hand from the rule's definition.
#include <gtest/gtest.h>

#include "harness/plan/step_work.hpp"

namespace tpbench {
namespace {

// 3 decodes (contexts summing to 3000) and one prompt chunk of 100 tokens from position 0
// (5050 causal pairs), which finishes its prompt: 4 logits rows.
StepWork mixed() {
  StepWork w;
  w.decode_seqs = 3;
  w.decode_ctx_tokens = 3000;
  w.prefill_seqs = 1;
  w.prefill_tokens = 100;
  w.prefill_ctx_tokens = 100;
  w.prefill_attn_pairs = 5050;
  w.logits = 4;
  return w;
}

TEST(StepWork, SharesOfWholeSequences) {
  const RowRule chunk0{RowBasis::Tokens, SeqShare::Chunk, 0, 2}, chunk1{RowBasis::Tokens, SeqShare::Chunk, 1, 2};
  EXPECT_EQ(share_of(chunk0, 5), 2);  // floor(2.5) - 0
  EXPECT_EQ(share_of(chunk1, 5), 3);  // 5 - floor(2.5)
  // Blocks of ceil(5 / 4) = 2 sequences: 2, 2, 1, 0.
  for (int r = 0; r < 4; ++r)
    EXPECT_EQ(share_of(RowRule{RowBasis::Tokens, SeqShare::RankBlock, r, 4}, 5), (r < 2 ? 2 : r == 2 ? 1 : 0)) << r;
}

// Decodes and prefills are shared out separately: a chunk (or a rank) takes its share of the
// decodes and of the prompt chunks, whole.
TEST(StepWork, MixedStepRows) {
  const StepWork w = mixed();
  EXPECT_EQ(rows_at(RowRule{RowBasis::Tokens}, w, 0), 103);
  // Split in two: floor(1.5) = 1 decode and no prompt in chunk 0; 2 decodes and the prompt in chunk 1.
  EXPECT_EQ(rows_at(RowRule{RowBasis::Tokens, SeqShare::Chunk, 0, 2}, w, 0), 1);
  EXPECT_EQ(rows_at(RowRule{RowBasis::Tokens, SeqShare::Chunk, 1, 2}, w, 0), 102);
  // Four ranks: blocks of ceil(3 / 4) = 1 decode; the one prompt goes to rank 0's block.
  EXPECT_EQ(rows_at(RowRule{RowBasis::Tokens, SeqShare::RankBlock, 0, 4}, w, 0), 101);
  EXPECT_EQ(rows_at(RowRule{RowBasis::Tokens, SeqShare::RankBlock, 1, 4}, w, 0), 1);
  EXPECT_EQ(rows_at(RowRule{RowBasis::Tokens, SeqShare::RankBlock, 3, 4}, w, 0), 0);
  // Sequence parallelism: 103 tokens padded to 104 over 4 ranks, 26 each.
  EXPECT_EQ(rows_at(RowRule{RowBasis::PaddedTokens, SeqShare::All, 0, 4}, w, 0), 104);
  EXPECT_EQ(rows_at(RowRule{RowBasis::TokenShard, SeqShare::All, 0, 4}, w, 0), 26);
  // Logits rows are blocked by their own count: 4 rows, one per rank.
  EXPECT_EQ(rows_at(RowRule{RowBasis::Logits, SeqShare::RankBlock, 0, 4}, w, 0), 1);
  EXPECT_EQ(rows_at(RowRule{RowBasis::Fixed}, w, 7), 7);
}

TEST(StepWork, MixedStepAttention) {
  const AttentionWork all = attention_work_at(RowRule{RowBasis::Tokens}, mixed());
  EXPECT_EQ(all.queries(), 103);
  EXPECT_EQ(all.pairs(), 3000 + 5050);
  EXPECT_EQ(all.keys_read(), 3000 + 100);
  // Rank 1 of 4 under weight-gather: one decode (a third of the decodes' context), no prompt.
  const AttentionWork r1 = attention_work_at(RowRule{RowBasis::Tokens, SeqShare::RankBlock, 1, 4}, mixed());
  EXPECT_EQ(r1.decode_seqs, 1);
  EXPECT_DOUBLE_EQ(r1.decode_ctx_tokens, 1000);
  EXPECT_EQ(r1.prefill_tokens, 0);
  // A prompt chunk with no sequence count is one sequence: its tokens never vanish.
  StepWork w = mixed();
  w.prefill_seqs = 0;
  EXPECT_EQ(rows_at(RowRule{RowBasis::Tokens, SeqShare::RankBlock, 0, 4}, w, 0), 101);
}

// A uniform step's work: decode when one new token, prefill otherwise.
TEST(StepWork, UniformWork) {
  const StepWork d = uniform_work(4, 1, 99);
  EXPECT_EQ(d.decode_seqs, 4);
  EXPECT_EQ(d.decode_ctx_tokens, 400);
  EXPECT_EQ(d.logits, 4);
  const StepWork p = uniform_work(2, 3, 5);  // 3 tokens after 5: 3 x 5 + 3 x 4 / 2 = 21 pairs each
  EXPECT_EQ(p.prefill_tokens, 6);
  EXPECT_EQ(p.prefill_attn_pairs, 42);
  EXPECT_EQ(p.prefill_ctx_tokens, 16);
}

}  // namespace
}  // namespace tpbench
