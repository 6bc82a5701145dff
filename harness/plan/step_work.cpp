#include "harness/plan/step_work.hpp"

#include <algorithm>
#include <cmath>

namespace tpbench {

double share_of(const RowRule& rule, double count) {
  const double parts = std::max(1, rule.parts), part = rule.part;
  switch (rule.share) {
    case SeqShare::All: return count;
    case SeqShare::Chunk: return std::floor((part + 1) * count / parts) - std::floor(part * count / parts);
    case SeqShare::RankBlock: {
      const double block = std::ceil(count / parts);
      return std::clamp(count - part * block, 0.0, block);
    }
  }
  return count;
}

namespace {

// The fraction of a class of sequences (decodes or prefills) that the rule's share keeps.
double kept_fraction(const RowRule& rule, double seqs) {
  return seqs > 0 ? share_of(rule, seqs) / seqs : 0.0;
}

// Prefill chunks of unknown count are one sequence: a step's prompt tokens never vanish.
double prefill_seqs_of(const StepWork& w) {
  return w.prefill_tokens > 0 ? std::max(1.0, w.prefill_seqs) : 0.0;
}

}  // namespace

namespace {

double basis_rows(const RowRule& rule, const StepWork& w, double declared) {
  switch (rule.basis) {
    case RowBasis::Fixed: return declared;
    case RowBasis::Tokens:
      return share_of(rule, w.decode_seqs) + w.prefill_tokens * kept_fraction(rule, prefill_seqs_of(w));
    case RowBasis::PaddedTokens: {
      const double g = std::max(1, rule.parts);
      return std::ceil(w.tokens() / g) * g;
    }
    case RowBasis::TokenShard: return std::ceil(w.tokens() / std::max(1, rule.parts));
    case RowBasis::Logits: return share_of(rule, w.logits);
  }
  return declared;
}

}  // namespace

double rows_at(const RowRule& rule, const StepWork& w, double declared) {
  const double rows = basis_rows(rule, w, declared);
  return rule.basis == RowBasis::Fixed ? rows : rows * rule.per_token;
}

AttentionWork attention_work_at(const RowRule& rule, const StepWork& w) {
  AttentionWork a;
  const double d = kept_fraction(rule, w.decode_seqs), p = kept_fraction(rule, prefill_seqs_of(w));
  a.decode_seqs = share_of(rule, w.decode_seqs);
  a.decode_ctx_tokens = w.decode_ctx_tokens * d;
  a.prefill_tokens = w.prefill_tokens * p;
  a.prefill_ctx_tokens = w.prefill_ctx_tokens * p;
  a.prefill_attn_pairs = w.prefill_attn_pairs * p;
  return a;
}

StepWork uniform_work(int64_t batch, int64_t new_tokens, int64_t prior) {
  StepWork w;
  const double B = double(batch), T = double(new_tokens), P = double(prior);
  if (new_tokens == 1) {
    w.decode_seqs = B;
    w.decode_ctx_tokens = B * (P + 1);
  } else {
    w.prefill_seqs = B;
    w.prefill_tokens = B * T;
    w.prefill_ctx_tokens = B * (P + T);
    w.prefill_attn_pairs = B * (T * P + T * (T + 1) / 2);
  }
  w.logits = B;
  return w;
}

}  // namespace tpbench
