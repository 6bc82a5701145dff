#include "harness/plan/op_cost.hpp"

#include <algorithm>
#include <cmath>

#include "harness/plan/moe_routing.hpp"

namespace tpbench {

namespace {

double elements(const View& v) { return double(v.rows) * double(v.cols); }

// Weights at their storage type. With FP8 weights the serving stack quantizes the input to FP8
// per tensor before the GEMM (vLLM's Fp8LinearMethod); that pass is not an op of the plan and
// the input is counted once at the activations' type (m x k, small beside k x n at decode).
void set_gemm(Op& op, double eb) {
  const double m = double(op.a.rows), k = double(op.a.cols), n = double(op.w.cols);
  op.flops = 2 * m * n * k;
  op.weight_bytes = k * n * dtype_bytes(op.w.dtype);
  op.hbm_bytes = op.weight_bytes + (m * k + m * n) * eb;
}

// Each expert's weights are read once if any of the step's tokens chose it: the expected number
// of distinct experts among the rank's groups (uniform routing, moe_routing.hpp), not the rows.
void set_grouped_gemm(Op& op, double eb) {
  const double m = double(op.a.rows), k = double(op.a.cols), n = double(op.w.cols);
  const MoeOpInfo& e = op.moe;
  const double touched = e.experts > 0 ? expected_distinct_experts(e.step_tokens, e.top_k, e.experts) *
                                             double(e.groups) / double(e.experts)
                                       : 0.0;
  op.flops = 2 * m * n * k;
  op.weight_bytes = touched * k * n * dtype_bytes(op.w.dtype);
  op.hbm_bytes = op.weight_bytes + (m * k + m * n) * eb;
}

// K and V rows: every position a query sees is read once per KV head (a GQA group shares it);
// the new tokens' rows are written. Queries are read and outputs written once.
double kv_row_bytes(const AttentionShape& s, double eb) { return 2.0 * double(s.kv_heads) * double(s.head_dim) * eb; }
double q_row_bytes(const AttentionShape& s, double eb) { return double(s.q_heads) * double(s.head_dim) * eb; }

// K/V at the cache's storage type (an FP8 cache is read as FP8 and converted in the kernel);
// queries and outputs at the activations'.
void set_attention(Op& op, double eb, const AttentionWork& a) {
  const AttentionShape& s = op.attn;
  // 2 FLOPs per multiply-add for QK^T and again for PV, per (query, key) pair, head and dim.
  op.flops = 4.0 * double(s.head_dim) * double(s.q_heads) * a.pairs();
  op.kv_bytes = (a.keys_read() + a.queries()) * kv_row_bytes(s, dtype_bytes(s.kv_dtype));
  op.hbm_bytes = op.kv_bytes + 2.0 * a.queries() * q_row_bytes(s, eb);
}

void set_collective(Op& op, double eb) {
  // The output follows from the input, so that only the input's rows need a rule.
  const CollectiveTraits& t = collective_traits(op.collective);
  const int ranks = std::max(1, op.group_size);
  const double in_bytes = elements(op.a) * eb, n = ranks;
  const double count_bytes = t.input_has_rank_parts ? in_bytes / n : in_bytes;
  const double out_bytes = t.output_has_rank_parts ? count_bytes * n : count_bytes;
  // nccl-tests "size": the larger buffer (the whole gathered output, the whole scattered input).
  op.message_bytes = std::max(in_bytes, out_bytes);
  op.bytes_per_rank = in_bytes;
  op.hbm_bytes = in_bytes + out_bytes;
}

}  // namespace

bool op_is_empty(const Op& op) {
  if (op.kind == OpKind::Attention) return op.out.rows == 0;
  if (op.kind == OpKind::Collective) return op.a.rows == 0;
  return op.a.rows == 0 || op.out.rows == 0;
}

void set_op_cost(Op& op, double eb, const AttentionWork& attn) {
  op.flops = op.hbm_bytes = op.weight_bytes = op.kv_bytes = op.message_bytes = op.bytes_per_rank = 0;
  if (op_is_empty(op)) return;
  const double e = elements(op.out);
  switch (op.kind) {
    case OpKind::Gemm: set_gemm(op, eb); break;
    case OpKind::Attention: set_attention(op, eb, attn); break;
    case OpKind::Collective: set_collective(op, eb); break;
    case OpKind::RmsNorm:
      op.flops = 4 * e;  // square, sum, scale, weight
      op.weight_bytes = double(op.w.cols) * eb;
      op.hbm_bytes = 2 * e * eb + op.weight_bytes;
      break;
    case OpKind::SiluMul:
      op.flops = 6 * e;  // exp, add, divide, two multiplies (counted as the usual ~6)
      op.hbm_bytes = 3 * e * eb;
      break;
    case OpKind::ResidualAdd:
      op.flops = e;
      op.hbm_bytes = 3 * e * eb;
      break;
    case OpKind::Copy:
    case OpKind::GatherRows: op.hbm_bytes = 2 * e * eb; break;
    case OpKind::GroupedGemm: set_grouped_gemm(op, eb); break;
    case OpKind::MoeGate:  // a softmax over the k chosen logits of each row
      op.flops = 4 * e;
      op.hbm_bytes = (elements(op.a) + e) * eb;
      break;
    case OpKind::MoeCombine:  // a multiply-add of each (token, expert) row into its token's sum
      op.flops = 2 * elements(op.a);
      op.hbm_bytes = (elements(op.a) + elements(op.w) + e) * eb;
      break;
  }
}

AttentionBytes attention_bytes(const AttentionShape& s, const AttentionWork& a, double eb) {
  const double kv = kv_row_bytes(s, dtype_bytes(s.kv_dtype)), q = q_row_bytes(s, eb);
  return {(a.decode_ctx_tokens + a.decode_seqs) * kv + 2.0 * a.decode_seqs * q,
          (a.prefill_ctx_tokens + a.prefill_tokens) * kv + 2.0 * a.prefill_tokens * q};
}

AttentionWork attention_work_of(const AttentionShape& s) {
  const StepWork w = uniform_work(s.batch, s.new_tokens, s.prior);
  return attention_work_at(RowRule{}, w);
}

Op op_at(const Op& op, const StepWork& work, double eb) {
  Op o = op;
  // A mixed step's share of prefill tokens need not be whole: the nearest row count.
  o.a.rows = std::llround(rows_at(o.a.rule, work, double(o.a.rows)));
  o.out.rows = std::llround(rows_at(o.out.rule, work, double(o.out.rows)));
  if (o.kind == OpKind::GroupedGemm) o.moe.step_tokens = work.tokens();
  // The combine's `w` is the tokens' gate weights, an activation that follows the step's tokens
  // (every other op's `w` is a weight of fixed rows).
  if (o.kind == OpKind::MoeCombine) o.w.rows = std::llround(rows_at(o.w.rule, work, double(o.w.rows)));
  AttentionWork attn;
  if (o.kind == OpKind::Attention) {
    attn = attention_work_at(o.a.rule, work);
    if (attn.queries() == 0) o.out.rows = 0;
  }
  set_op_cost(o, eb, attn);
  return o;
}

}  // namespace tpbench
