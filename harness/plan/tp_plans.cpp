// The tp and tp-sp plans (Megatron-style tensor parallelism, optionally sequence parallel).
#include <algorithm>

#include "harness/plan/detail/moe_block.hpp"
#include "harness/plan/detail/program_builder.hpp"
#include "harness/plan/plan.hpp"

namespace tpbench::detail {
namespace {

// One rank's sizes under tensor parallelism: heads, intermediate and vocabulary are this rank's
// shares; token counts are the step's.
struct TpRankDims {
  int ranks, rank;
  int64_t batch, new_tokens, context, prior;  // sequences, tokens per sequence, positions after and before the step
  int64_t tokens;                             // batch * new_tokens: the GEMMs' rows
  int64_t hidden, head_dim;
  int64_t q_heads, kv_heads;  // this rank's query heads and KV heads (replicated when TP > KV heads)
  int64_t intermediate, vocab;  // this rank's MLP intermediate columns and vocabulary rows
  int64_t qkv_width;            // columns of the fused QKV projection on this rank
  int64_t kv_first;             // the model's index of this rank's first KV head
  // Sequence parallel: token rows padded to a multiple of the ranks, and each rank's shard of
  // them; both equal `tokens` otherwise.
  int64_t padded_tokens, shard_tokens;
  bool sequence_parallel;  // tp-sp with more than one rank
};

TpRankDims dims(const ModelSpec& m, const StepConfig& c, int rank, bool sequence_parallel) {
  TpRankDims t{};
  t.ranks = c.tp;
  t.rank = rank;
  t.batch = c.batch;
  t.new_tokens = c.new_tokens();
  t.context = c.context;
  t.prior = c.prior();
  t.tokens = t.batch * t.new_tokens;
  t.hidden = m.hidden;
  t.head_dim = m.head_dim;
  t.q_heads = m.q_heads / t.ranks;
  t.kv_heads = std::max<int64_t>(1, m.kv_heads / t.ranks);  // replicated when TP > KV heads (vLLM)
  t.intermediate = m.intermediate / t.ranks;
  t.vocab = m.vocab / t.ranks;
  t.qkv_width = (t.q_heads + 2 * t.kv_heads) * t.head_dim;
  t.kv_first = m.kv_heads >= t.ranks ? rank * t.kv_heads : rank * m.kv_heads / t.ranks;
  t.sequence_parallel = sequence_parallel && t.ranks > 1;
  t.padded_tokens = t.sequence_parallel ? (t.tokens + t.ranks - 1) / t.ranks * t.ranks : t.tokens;
  t.shard_tokens = t.sequence_parallel ? t.padded_tokens / t.ranks : t.tokens;
  return t;
}

struct LayerWeights {
  int wqkv, wo, wgu, wd, n1, n2, kc, vc;
  MoeLayerWeights moe;  // a mixture-of-experts layer's (wgu and wd are then -1)
};

void declare_dense_mlp(ProgramBuilder& b, const TpRankDims& t, int l, LayerWeights& w) {
  const std::string p = "L" + std::to_string(l) + ".";
  w.wgu = b.linear_weight(p + "wgate_up", t.hidden * 2 * t.intermediate,
                   fused_segments(l, t.hidden, 2 * t.intermediate,
                                  {{LogicalWeight::Gate, 0, t.rank * t.intermediate, t.intermediate, 0},
                                   {LogicalWeight::Up, 0, t.rank * t.intermediate, t.intermediate, t.intermediate}},
                                  0));
  w.wd = b.linear_weight(p + "wdown", t.intermediate * t.hidden,
                  fused_segments(l, t.intermediate, t.hidden, {{LogicalWeight::Down, t.rank * t.intermediate, 0, t.hidden, 0}}, 0));
}

LayerWeights declare_layer(ProgramBuilder& b, const StepConfig& c, const TpRankDims& t, int l) {
  const std::string p = "L" + std::to_string(l) + ".";
  LayerWeights w{};
  w.wqkv = b.linear_weight(p + "wqkv", t.hidden * t.qkv_width,
                    fused_segments(l, t.hidden, t.qkv_width,
                                   {{LogicalWeight::Q, 0, t.rank * t.q_heads * t.head_dim, t.q_heads * t.head_dim, 0},
                                    {LogicalWeight::K, 0, t.kv_first * t.head_dim, t.kv_heads * t.head_dim, t.q_heads * t.head_dim},
                                    {LogicalWeight::V, 0, t.kv_first * t.head_dim, t.kv_heads * t.head_dim,
                                     (t.q_heads + t.kv_heads) * t.head_dim}},
                                   0));
  w.wo = b.linear_weight(p + "wo", t.q_heads * t.head_dim * t.hidden,
                  fused_segments(l, t.q_heads * t.head_dim, t.hidden, {{LogicalWeight::O, t.rank * t.q_heads * t.head_dim, 0, t.hidden, 0}}, 0));
  w.wgu = w.wd = -1;
  if (b.model().ffn_kind(l) == FfnKind::MoE) w.moe = declare_moe_weights(b, c, t.rank, l);
  else declare_dense_mlp(b, t, l, w);
  w.n1 = b.weight(p + "attn_norm", t.hidden, fused_segments(l, 1, t.hidden, {{LogicalWeight::AttnNorm, 0, 0, t.hidden, 0}}, 0));
  w.n2 = b.weight(p + "mlp_norm", t.hidden, fused_segments(l, 1, t.hidden, {{LogicalWeight::MlpNorm, 0, 0, t.hidden, 0}}, 0));
  KVInit kv;
  kv.layer = l;
  kv.prior = t.prior;
  kv.positions = t.context;
  for (int64_t j = 0; j < t.kv_heads; ++j) kv.kv_head_map.push_back(t.kv_first + j);
  const int64_t cache = t.batch * t.kv_heads * t.context * t.head_dim;
  w.kc = b.kv_cache(p + "k_cache", cache, InitKind::KCache, kv);
  w.vc = b.kv_cache(p + "v_cache", cache, InitKind::VCache, kv);
  return w;
}

struct Activations {
  int x, h_local, h, qkv, att, proj, proj_local, gu, act, logits_local, logits;
};

}  // namespace

// Longer than ~80 lines on purpose: it is one rank's program written in execution order
// (buffers, embedding, each layer's attention and MLP halves, LM head), and the lambdas above the
// layer loop share its views, row rules and chunking; cut into functions, each piece would take
// most of those as arguments and the order of the ops would no longer read top to bottom.
void build_tp_rank(const ModelSpec& m, const StepConfig& c, int64_t layers, bool sequence_parallel,
                   RankProgram& r) {
  const TpRankDims t = dims(m, c, r.rank, sequence_parallel);
  ProgramBuilder b(m, r);
  const StreamId cs = c.overlap == Overlap::None ? StreamId::Compute : StreamId::Comm;
  const bool comm = t.ranks > 1;

  Activations a{};
  // x_in stands for this rank's part of the embedding lookup (see the prologue below).
  HiddenInit embedding{0, t.new_tokens, t.tokens, 0};
  embedding.vocab = m.vocab;
  embedding.vocab_parts = t.ranks;
  embedding.vocab_part = t.rank;
  const int x_in = b.hidden_input("x_in", t.padded_tokens * t.hidden, embedding);
  a.x = b.activation("x", t.shard_tokens * t.hidden);
  a.h_local = t.sequence_parallel ? b.activation("h_local", t.shard_tokens * t.hidden) : -1;
  a.h = b.activation("h", t.padded_tokens * t.hidden);
  a.qkv = b.activation("qkv", t.padded_tokens * t.qkv_width);
  a.att = b.activation("attn_out", t.padded_tokens * t.q_heads * t.head_dim);
  a.proj = b.activation("proj", t.padded_tokens * t.hidden);
  a.proj_local = t.sequence_parallel ? b.activation("proj_local", t.shard_tokens * t.hidden) : -1;
  const bool dense_layers = m.moe_layer_count() < m.layers;
  a.gu = dense_layers ? b.activation("gate_up", t.padded_tokens * 2 * t.intermediate) : -1;
  a.act = dense_layers ? b.activation("act", t.padded_tokens * t.intermediate) : -1;
  a.logits_local = b.activation("logits_local", t.batch * t.vocab);
  a.logits = comm ? b.activation("logits", t.ranks * t.batch * t.vocab) : a.logits_local;

  std::vector<LayerWeights> w;
  for (int l = 0; l < layers; ++l) w.push_back(declare_layer(b, c, t, l));
  // Mixture-of-experts layers: every token's experts, drawn once (moe_routing.hpp), and the
  // blocks' scratch buffers.
  const MoeStepTokens moe_tokens{t.batch, t.new_tokens, t.prior};
  const bool moe = m.has_moe_layers();
  const MoeRouting routing = moe ? route_step(m, c, layers, moe_tokens) : MoeRouting{};
  const MoeScratch moe_scratch = moe ? declare_moe_scratch(b, c, t.rank, routing, moe_tokens) : MoeScratch{};
  const int final_norm = b.weight("final_norm", t.hidden, fused_segments(-1, 1, t.hidden, {{LogicalWeight::FinalNorm, 0, 0, t.hidden, 0}}, 0));
  // The vocab-parallel embedding table: rank r holds vocabulary rows [r * vl, (r + 1) * vl).
  // Tied embeddings are the LM head's weights and take no memory of their own.
  if (!m.tied_embeddings)
    b.weight("embedding", t.vocab * t.hidden,
             fused_segments(-1, t.vocab, t.hidden, {{LogicalWeight::Embedding, t.rank * t.vocab, 0, t.hidden, 0}}, 0));
  const int lm_head = b.weight("lm_head", t.hidden * t.vocab,
                               fused_segments(-1, t.hidden, t.vocab, {{LogicalWeight::LmHead, 0, t.rank * t.vocab, t.vocab, 0}}, 0));

  // Row chunks: the split overlap cuts the batch by sequences so that chunk i's all-reduce
  // runs while chunk i+1 computes. Sequence parallelism and the other modes use one chunk.
  const int64_t chunks = c.overlap == Overlap::Split ? std::min<int64_t>(c.split_chunks, t.batch) : 1;
  std::vector<std::pair<int64_t, int64_t>> seqs;  // [b0, b1)
  for (int64_t i = 0; i < chunks; ++i) seqs.push_back({i * t.batch / chunks, (i + 1) * t.batch / chunks});

  // How rows follow the step's work: a chunk's tokens, all (padded) tokens, a rank's token
  // shard under sequence parallelism, or the logits rows.
  const RowRule padded{RowBasis::PaddedTokens, SeqShare::All, 0, t.ranks}, shard{RowBasis::TokenShard, SeqShare::All, 0, t.ranks};
  const RowRule all_tokens{RowBasis::Tokens}, logit_rows{RowBasis::Logits};
  auto chunk_rule = [&](int64_t ci) {
    return chunks > 1 ? RowRule{RowBasis::Tokens, SeqShare::Chunk, int(ci), int(chunks)} : all_tokens;
  };
  // Rows that compute ops see: tokens of the chunk (M == Mp without sequence parallelism).
  auto rows = [&](int buf, int64_t width, int64_t ci) {
    if (t.sequence_parallel) return buffer_view(buf, t.padded_tokens, width, 0, 0, padded);
    const int64_t r0 = seqs[ci].first * t.new_tokens, r1 = seqs[ci].second * t.new_tokens;
    return buffer_view(buf, r1 - r0, width, width, r0 * width, chunk_rule(ci));
  };
  auto local_rows = [&](int buf, int64_t ci) {  // the residual stream's rows on this rank
    if (t.sequence_parallel) return buffer_view(buf, t.shard_tokens, t.hidden, 0, 0, shard);
    return rows(buf, t.hidden, ci);
  };
  // Norm of the residual stream into the GEMM input `h` (all-gathering tokens under SP).
  // `wait`: the op that last wrote the residual stream on another stream, or -1.
  auto norm_into_h = [&](const std::string& name, int l, int norm_w, int64_t ci, int wait = -1) {
    std::vector<int> deps;
    if (wait >= 0) deps.push_back(wait);
    if (!t.sequence_parallel) return b.rmsnorm(name, l, local_rows(a.x, ci), buffer_view(norm_w, 1, t.hidden), rows(a.h, t.hidden, ci), deps);
    const int n = b.rmsnorm(name, l, local_rows(a.x, ci), buffer_view(norm_w, 1, t.hidden),
                            buffer_view(a.h_local, t.shard_tokens, t.hidden, 0, 0, shard), deps);
    return b.collective(name + "_ag", l, CollectiveKind::AllGather, buffer_view(a.h_local, t.shard_tokens, t.hidden, 0, 0, shard),
                        buffer_view(a.h, t.padded_tokens, t.hidden, 0, 0, padded), t.ranks, cs, {n});
  };
  // Row-parallel GEMM output `proj` -> summed (AR) or summed and scattered (RS); returns the
  // op the residual add must wait for, or -1.
  auto reduce = [&](const std::string& name, int l, int producer, int64_t ci) {
    if (!comm) return -1;
    if (t.sequence_parallel)
      return b.collective(name, l, CollectiveKind::ReduceScatter, buffer_view(a.proj, t.padded_tokens, t.hidden, 0, 0, padded),
                          buffer_view(a.proj_local, t.shard_tokens, t.hidden, 0, 0, shard), t.ranks, cs, {producer});
    return b.collective(name, l, CollectiveKind::AllReduce, rows(a.proj, t.hidden, ci), rows(a.proj, t.hidden, ci),
                        t.ranks, cs, {producer});
  };
  auto residual = [&](const std::string& name, int l, int wait, int64_t ci) {
    const View src = t.sequence_parallel ? buffer_view(a.proj_local, t.shard_tokens, t.hidden, 0, 0, shard) : rows(a.proj, t.hidden, ci);
    std::vector<int> deps;
    if (wait >= 0) deps.push_back(wait);
    return b.residual_add(name, l, src, local_rows(a.x, ci), deps);
  };

  // Vocab-parallel embedding (vLLM's VocabParallelEmbedding): each rank looks up the tokens of
  // its vocabulary shard (x_in holds that partial lookup, zero rows elsewhere) and the sum over
  // the group is the embedding: an all-reduce, or a reduce-scatter into the token shard.
  int embed_wait = -1;
  if (!comm) {
    b.copy("embed", -1, buffer_view(x_in, t.tokens, t.hidden, 0, 0, all_tokens), buffer_view(a.x, t.tokens, t.hidden, 0, 0, all_tokens));
  } else if (t.sequence_parallel) {
    const int e = b.collective("embed_rs", -1, CollectiveKind::ReduceScatter, buffer_view(x_in, t.padded_tokens, t.hidden, 0, 0, padded),
                               buffer_view(a.x, t.shard_tokens, t.hidden, 0, 0, shard), t.ranks, cs, {});
    if (cs == StreamId::Comm) embed_wait = e;
  } else {
    const int e = b.collective("embed_ar", -1, CollectiveKind::AllReduce, buffer_view(x_in, t.tokens, t.hidden, 0, 0, all_tokens),
                               buffer_view(a.x, t.tokens, t.hidden, 0, 0, all_tokens), t.ranks, cs, {});
    if (cs == StreamId::Comm) embed_wait = e;
  }
  r.layers_begin = b.next_op();

  std::vector<int> pending_mlp(chunks, -1);  // split: MLP reductions the next layer waits for
  for (int l = 0; l < layers; ++l) {
    const std::string p = "L" + std::to_string(l) + ".";
    const LayerWeights& lw = w[l];
    std::vector<int> pending_attn(chunks, -1);
    for (int64_t ci = 0; ci < chunks; ++ci) {
      const std::string s = chunks > 1 ? "c" + std::to_string(ci) + "." : "";
      if (chunks > 1 && l > 0) residual(p + s + "mlp_residual_prev", l - 1, pending_mlp[ci], ci);
      const int hn = norm_into_h(p + s + "attn_norm", l, lw.n1, ci, l == 0 ? embed_wait : -1);
      std::vector<int> gemm_deps;
      if (t.sequence_parallel) gemm_deps.push_back(hn);
      b.gemm(p + s + "qkv", l, rows(a.h, t.hidden, ci), buffer_view(lw.wqkv, t.hidden, t.qkv_width), rows(a.qkv, t.qkv_width, ci),
             StreamId::Compute, gemm_deps);
      AttentionShape as{seqs[ci].second - seqs[ci].first, t.new_tokens, t.prior, t.q_heads, t.kv_heads, t.head_dim, seqs[ci].first};
      const int64_t r0 = seqs[ci].first * t.new_tokens, nr = as.batch * t.new_tokens;
      b.attention(p + s + "attn", l, buffer_view(a.qkv, nr, t.qkv_width, t.qkv_width, r0 * t.qkv_width, chunk_rule(ci)), lw.kc, lw.vc,
                  buffer_view(a.att, nr, t.q_heads * t.head_dim, t.q_heads * t.head_dim, r0 * t.q_heads * t.head_dim, chunk_rule(ci)), as);
      const int o = b.gemm(p + s + "o_proj", l, rows(a.att, t.q_heads * t.head_dim, ci), buffer_view(lw.wo, t.q_heads * t.head_dim, t.hidden),
                           rows(a.proj, t.hidden, ci));
      pending_attn[ci] = reduce(p + s + (t.sequence_parallel ? "o_rs" : "o_ar"), l, o, ci);
    }
    for (int64_t ci = 0; ci < chunks; ++ci) {
      const std::string s = chunks > 1 ? "c" + std::to_string(ci) + "." : "";
      residual(p + s + "attn_residual", l, pending_attn[ci], ci);
      const int hn = norm_into_h(p + s + "mlp_norm", l, lw.n2, ci);
      if (m.ffn_kind(l) == FfnKind::MoE) {  // validate_config: one chunk, no sequence parallelism
        const MoeBlockOutput out = build_moe_block(b, c, t.rank, l, lw.moe, moe_scratch, routing, moe_tokens,
                                                   rows(a.h, t.hidden, ci), cs);
        std::vector<int> deps;
        if (out.wait >= 0) deps.push_back(out.wait);
        b.residual_add(p + "mlp_residual", l, out.sum, local_rows(a.x, ci), deps);
        continue;
      }
      std::vector<int> gemm_deps;
      if (t.sequence_parallel) gemm_deps.push_back(hn);
      b.gemm(p + s + "gate_up", l, rows(a.h, t.hidden, ci), buffer_view(lw.wgu, t.hidden, 2 * t.intermediate), rows(a.gu, 2 * t.intermediate, ci),
             StreamId::Compute, gemm_deps);
      b.silu_mul(p + s + "silu_mul", l, rows(a.gu, 2 * t.intermediate, ci), rows(a.act, t.intermediate, ci));
      const int dn = b.gemm(p + s + "down", l, rows(a.act, t.intermediate, ci), buffer_view(lw.wd, t.intermediate, t.hidden), rows(a.proj, t.hidden, ci));
      const int red = reduce(p + s + (t.sequence_parallel ? "down_rs" : "down_ar"), l, dn, ci);
      if (chunks > 1) pending_mlp[ci] = red;
      else residual(p + "mlp_residual", l, red, ci);
    }
  }
  if (chunks > 1)
    for (int64_t ci = 0; ci < chunks; ++ci)
      residual("L" + std::to_string(layers - 1) + ".c" + std::to_string(ci) + ".mlp_residual", int(layers - 1),
               pending_mlp[ci], ci);

  // LM head: final norm over all tokens, logits for each sequence's last token only.
  r.head_begin = b.next_op();
  int hn = -1;
  if (t.sequence_parallel) {
    hn = norm_into_h("head.final_norm", -1, final_norm, 0);
  } else {
    b.rmsnorm("head.final_norm", -1, buffer_view(a.x, t.tokens, t.hidden, 0, 0, all_tokens), buffer_view(final_norm, 1, t.hidden),
              buffer_view(a.h, t.tokens, t.hidden, 0, 0, all_tokens));
  }
  std::vector<int> lm_deps;
  if (hn >= 0) lm_deps.push_back(hn);
  const int lm = b.gemm("head.lm_head", -1, buffer_view(a.h, t.batch, t.hidden, t.new_tokens * t.hidden, (t.new_tokens - 1) * t.hidden, logit_rows),
                        buffer_view(lm_head, t.hidden, t.vocab), buffer_view(a.logits_local, t.batch, t.vocab, 0, 0, logit_rows),
                        StreamId::Compute, lm_deps);
  if (comm) {
    b.collective("head.logits_ag", -1, CollectiveKind::AllGather, buffer_view(a.logits_local, t.batch, t.vocab, 0, 0, logit_rows),
                 buffer_view(a.logits, t.ranks * t.batch, t.vocab), t.ranks, cs, {lm});
  }
  r.output = buffer_view(a.logits, t.batch, t.vocab);
  r.output_seq0 = 0;
  r.output_parts = comm ? t.ranks : 1;
  r.output_part_stride = t.batch * t.vocab;
}

}  // namespace tpbench::detail
