#pragma once
// What one step of an engine processes, and how a plan's op sizes follow it.
//
// A plan states every op once, with its row count as a rule over the step's work (the tokens
// of the step, of one chunk of its sequences, of one rank's block of them, the logits rows,
// or fixed). The executable StepProgram is those ops at one uniform (batch, context); the cost
// model evaluates the same rules at any engine step, a mix of decodes and prefill chunks.
#include <cstdint>

namespace tpbench {

// Summed over the instance: every rank of a TP group sees the whole step.
struct StepWork {
  double decode_seqs = 0;         // sequences decoding one token each
  double decode_ctx_tokens = 0;   // over those: positions attended (the context after the step)
  double prefill_seqs = 0;        // sequences with a prompt chunk in this step
  double prefill_tokens = 0;      // tokens of those chunks
  double prefill_ctx_tokens = 0;  // over those: positions cached after the chunk
  double prefill_attn_pairs = 0;  // causal (query, key) pairs: a chunk of c tokens after s
                                  // cached ones attends c*s + c(c+1)/2 keys
  double logits = 0;              // rows through the LM head (decodes and finishing prefills)

  double tokens() const { return decode_seqs + prefill_tokens; }
  double seqs() const { return decode_seqs + prefill_seqs; }
};

// How a view's row count follows the step's work.
enum class RowBasis {
  Fixed,         // as declared (weights, weight gathers)
  Tokens,        // the tokens of the view's share of the sequences
  PaddedTokens,  // sequence parallel: all tokens, rounded up to a multiple of the group
  TokenShard,    // sequence parallel: one rank's 1/group of the padded tokens
  Logits,        // the logits rows of the view's share of the sequences
};

// Which sequences of the step a view covers. Decodes and prompt chunks are shared out
// separately and whole: a split chunk or a weight-gather rank takes its share of the decodes and
// its share of the prompt chunks (a step with one prompt chunk gives it all to one chunk or rank,
// as the plans cut a batch by sequences, not by tokens); logits rows by their own count.
enum class SeqShare {
  All,
  Chunk,      // sequences [part * S / parts, (part + 1) * S / parts), floor boundaries (split overlap)
  RankBlock,  // sequences [part * ceil(S / parts), ...) clipped to S (weight-gather's requests)
};

struct RowRule {
  RowBasis basis = RowBasis::Fixed;
  SeqShare share = SeqShare::All;
  int part = 0;
  int parts = 1;  // chunks, ranks, or the sequence-parallel group
  // Rows per token of the basis: a mixture-of-experts view holds (token, expert) pairs, k per
  // token, or the expected share of them a rank receives.
  double per_token = 1;
};

// The share of `count` whole sequences that `rule` covers.
double share_of(const RowRule& rule, double count);
// Rows of a view under `rule` at `work`; `declared` is returned for RowBasis::Fixed.
double rows_at(const RowRule& rule, const StepWork& work, double declared);

// The attention work of an op's share of the step.
struct AttentionWork {
  double decode_seqs = 0, decode_ctx_tokens = 0;
  double prefill_tokens = 0, prefill_ctx_tokens = 0, prefill_attn_pairs = 0;
  double queries() const { return decode_seqs + prefill_tokens; }
  double pairs() const { return decode_ctx_tokens + prefill_attn_pairs; }
  double keys_read() const { return decode_ctx_tokens + prefill_ctx_tokens; }
};
AttentionWork attention_work_at(const RowRule& rule, const StepWork& work);

// The work of a uniform step: `batch` sequences each adding `new_tokens` after `prior` cached
// ones (decode when new_tokens == 1), every sequence's last token through the LM head.
StepWork uniform_work(int64_t batch, int64_t new_tokens, int64_t prior);

}  // namespace tpbench
