// The tp and tp-sp plans (Megatron-style tensor parallelism, optionally sequence parallel).
#include <algorithm>

#include "harness/plan/detail/moe_block.hpp"
#include "harness/plan/detail/program_builder.hpp"
#include "harness/plan/plan.hpp"

namespace tpbench::detail {
namespace {

struct TpDims {
  int n, rank;
  int64_t B, T, S, P, M, H, d, ql, kvl, il, vl, qkv_w, kv_first;
  int64_t Mp, Ml;  // padded token rows and rows per rank (sequence parallel); M, M otherwise
  bool sp;         // sequence parallelism active (tp-sp with more than one rank)
};

TpDims dims(const ModelSpec& m, const StepConfig& c, int rank, bool sequence_parallel) {
  TpDims t{};
  t.n = c.tp;
  t.rank = rank;
  t.B = c.batch;
  t.T = c.new_tokens();
  t.S = c.context;
  t.P = c.prior();
  t.M = t.B * t.T;
  t.H = m.hidden;
  t.d = m.head_dim;
  t.ql = m.q_heads / t.n;
  t.kvl = std::max<int64_t>(1, m.kv_heads / t.n);  // replicated when TP > KV heads (vLLM)
  t.il = m.intermediate / t.n;
  t.vl = m.vocab / t.n;
  t.qkv_w = (t.ql + 2 * t.kvl) * t.d;
  t.kv_first = m.kv_heads >= t.n ? rank * t.kvl : rank * m.kv_heads / t.n;
  t.sp = sequence_parallel && t.n > 1;
  t.Mp = t.sp ? (t.M + t.n - 1) / t.n * t.n : t.M;
  t.Ml = t.sp ? t.Mp / t.n : t.M;
  return t;
}

struct LayerWeights {
  int wqkv, wo, wgu, wd, n1, n2, kc, vc;
  MoeLayerWeights moe;  // a mixture-of-experts layer's (wgu and wd are then -1)
};

void declare_dense_mlp(ProgramBuilder& b, const TpDims& t, int l, LayerWeights& w) {
  const std::string p = "L" + std::to_string(l) + ".";
  w.wgu = b.linear_weight(p + "wgate_up", t.H * 2 * t.il,
                   fused_segments(l, t.H, 2 * t.il,
                                  {{LogicalWeight::Gate, 0, t.rank * t.il, t.il, 0},
                                   {LogicalWeight::Up, 0, t.rank * t.il, t.il, t.il}},
                                  0));
  w.wd = b.linear_weight(p + "wdown", t.il * t.H,
                  fused_segments(l, t.il, t.H, {{LogicalWeight::Down, t.rank * t.il, 0, t.H, 0}}, 0));
}

LayerWeights declare_layer(ProgramBuilder& b, const StepConfig& c, const TpDims& t, int l) {
  const std::string p = "L" + std::to_string(l) + ".";
  LayerWeights w{};
  w.wqkv = b.linear_weight(p + "wqkv", t.H * t.qkv_w,
                    fused_segments(l, t.H, t.qkv_w,
                                   {{LogicalWeight::Q, 0, t.rank * t.ql * t.d, t.ql * t.d, 0},
                                    {LogicalWeight::K, 0, t.kv_first * t.d, t.kvl * t.d, t.ql * t.d},
                                    {LogicalWeight::V, 0, t.kv_first * t.d, t.kvl * t.d,
                                     (t.ql + t.kvl) * t.d}},
                                   0));
  w.wo = b.linear_weight(p + "wo", t.ql * t.d * t.H,
                  fused_segments(l, t.ql * t.d, t.H, {{LogicalWeight::O, t.rank * t.ql * t.d, 0, t.H, 0}}, 0));
  w.wgu = w.wd = -1;
  if (b.model().ffn_kind(l) == FfnKind::MoE) w.moe = declare_moe_weights(b, c, t.rank, l);
  else declare_dense_mlp(b, t, l, w);
  w.n1 = b.weight(p + "attn_norm", t.H, fused_segments(l, 1, t.H, {{LogicalWeight::AttnNorm, 0, 0, t.H, 0}}, 0));
  w.n2 = b.weight(p + "mlp_norm", t.H, fused_segments(l, 1, t.H, {{LogicalWeight::MlpNorm, 0, 0, t.H, 0}}, 0));
  KVInit kv;
  kv.layer = l;
  kv.prior = t.P;
  kv.positions = t.S;
  for (int64_t j = 0; j < t.kvl; ++j) kv.kv_head_map.push_back(t.kv_first + j);
  const int64_t cache = t.B * t.kvl * t.S * t.d;
  w.kc = b.kv_cache(p + "k_cache", cache, InitKind::KCache, kv);
  w.vc = b.kv_cache(p + "v_cache", cache, InitKind::VCache, kv);
  return w;
}

struct Activations {
  int x, h_local, h, qkv, att, proj, proj_local, gu, act, logits_local, logits;
};

}  // namespace

void build_tp_rank(const ModelSpec& m, const StepConfig& c, int64_t layers, bool sequence_parallel,
                   RankProgram& r) {
  const TpDims t = dims(m, c, r.rank, sequence_parallel);
  ProgramBuilder b(m, r);
  using V = ProgramBuilder;
  const StreamId cs = c.overlap == Overlap::None ? StreamId::Compute : StreamId::Comm;
  const bool comm = t.n > 1;

  Activations a{};
  // x_in stands for this rank's part of the embedding lookup (see the prologue below).
  HiddenInit embedding{0, t.T, t.M, 0};
  embedding.vocab = m.vocab;
  embedding.vocab_parts = t.n;
  embedding.vocab_part = t.rank;
  const int x_in = b.hidden_input("x_in", t.Mp * t.H, embedding);
  a.x = b.activation("x", t.Ml * t.H);
  a.h_local = t.sp ? b.activation("h_local", t.Ml * t.H) : -1;
  a.h = b.activation("h", t.Mp * t.H);
  a.qkv = b.activation("qkv", t.Mp * t.qkv_w);
  a.att = b.activation("attn_out", t.Mp * t.ql * t.d);
  a.proj = b.activation("proj", t.Mp * t.H);
  a.proj_local = t.sp ? b.activation("proj_local", t.Ml * t.H) : -1;
  const bool dense_layers = m.moe_layer_count() < m.layers;
  a.gu = dense_layers ? b.activation("gate_up", t.Mp * 2 * t.il) : -1;
  a.act = dense_layers ? b.activation("act", t.Mp * t.il) : -1;
  a.logits_local = b.activation("logits_local", t.B * t.vl);
  a.logits = comm ? b.activation("logits", t.n * t.B * t.vl) : a.logits_local;

  std::vector<LayerWeights> w;
  for (int l = 0; l < layers; ++l) w.push_back(declare_layer(b, c, t, l));
  // Mixture-of-experts layers: every token's experts, drawn once (moe_routing.hpp), and the
  // blocks' scratch buffers.
  const MoeStepTokens moe_tokens{t.B, t.T, t.P};
  const bool moe = m.has_moe_layers();
  const MoeRouting routing = moe ? route_step(m, c, layers, moe_tokens) : MoeRouting{};
  const MoeScratch moe_scratch = moe ? declare_moe_scratch(b, c, t.rank, routing, moe_tokens) : MoeScratch{};
  const int final_norm = b.weight("final_norm", t.H, fused_segments(-1, 1, t.H, {{LogicalWeight::FinalNorm, 0, 0, t.H, 0}}, 0));
  // The vocab-parallel embedding table: rank r holds vocabulary rows [r * vl, (r + 1) * vl).
  // Tied embeddings are the LM head's weights and take no memory of their own.
  if (!m.tied_embeddings)
    b.weight("embedding", t.vl * t.H,
             fused_segments(-1, t.vl, t.H, {{LogicalWeight::Embedding, t.rank * t.vl, 0, t.H, 0}}, 0));
  const int lm_head = b.weight("lm_head", t.H * t.vl,
                               fused_segments(-1, t.H, t.vl, {{LogicalWeight::LmHead, 0, t.rank * t.vl, t.vl, 0}}, 0));

  // Row chunks: the split overlap cuts the batch by sequences so that chunk i's all-reduce
  // runs while chunk i+1 computes. Sequence parallelism and the other modes use one chunk.
  const int64_t chunks = c.overlap == Overlap::Split ? std::min<int64_t>(c.split_chunks, t.B) : 1;
  std::vector<std::pair<int64_t, int64_t>> seqs;  // [b0, b1)
  for (int64_t i = 0; i < chunks; ++i) seqs.push_back({i * t.B / chunks, (i + 1) * t.B / chunks});

  // How rows follow the step's work: a chunk's tokens, all (padded) tokens, a rank's token
  // shard under sequence parallelism, or the logits rows.
  const RowRule padded{RowBasis::PaddedTokens, SeqShare::All, 0, t.n}, shard{RowBasis::TokenShard, SeqShare::All, 0, t.n};
  const RowRule all_tokens{RowBasis::Tokens}, logit_rows{RowBasis::Logits};
  auto chunk_rule = [&](int64_t ci) {
    return chunks > 1 ? RowRule{RowBasis::Tokens, SeqShare::Chunk, int(ci), int(chunks)} : all_tokens;
  };
  // Rows that compute ops see: tokens of the chunk (M == Mp without sequence parallelism).
  auto rows = [&](int buf, int64_t width, int64_t ci) {
    if (t.sp) return V::view(buf, t.Mp, width, 0, 0, padded);
    const int64_t r0 = seqs[ci].first * t.T, r1 = seqs[ci].second * t.T;
    return V::view(buf, r1 - r0, width, width, r0 * width, chunk_rule(ci));
  };
  auto local_rows = [&](int buf, int64_t ci) {  // the residual stream's rows on this rank
    if (t.sp) return V::view(buf, t.Ml, t.H, 0, 0, shard);
    return rows(buf, t.H, ci);
  };
  // Norm of the residual stream into the GEMM input `h` (all-gathering tokens under SP).
  // `wait`: the op that last wrote the residual stream on another stream, or -1.
  auto norm_into_h = [&](const std::string& name, int l, int norm_w, int64_t ci, int wait = -1) {
    std::vector<int> deps;
    if (wait >= 0) deps.push_back(wait);
    if (!t.sp) return b.rmsnorm(name, l, local_rows(a.x, ci), V::view(norm_w, 1, t.H), rows(a.h, t.H, ci), deps);
    const int n = b.rmsnorm(name, l, local_rows(a.x, ci), V::view(norm_w, 1, t.H),
                            V::view(a.h_local, t.Ml, t.H, 0, 0, shard), deps);
    return b.collective(name + "_ag", l, CollectiveKind::AllGather, V::view(a.h_local, t.Ml, t.H, 0, 0, shard),
                        V::view(a.h, t.Mp, t.H, 0, 0, padded), t.n, cs, {n});
  };
  // Row-parallel GEMM output `proj` -> summed (AR) or summed and scattered (RS); returns the
  // op the residual add must wait for, or -1.
  auto reduce = [&](const std::string& name, int l, int producer, int64_t ci) {
    if (!comm) return -1;
    if (t.sp)
      return b.collective(name, l, CollectiveKind::ReduceScatter, V::view(a.proj, t.Mp, t.H, 0, 0, padded),
                          V::view(a.proj_local, t.Ml, t.H, 0, 0, shard), t.n, cs, {producer});
    return b.collective(name, l, CollectiveKind::AllReduce, rows(a.proj, t.H, ci), rows(a.proj, t.H, ci),
                        t.n, cs, {producer});
  };
  auto residual = [&](const std::string& name, int l, int wait, int64_t ci) {
    const View src = t.sp ? V::view(a.proj_local, t.Ml, t.H, 0, 0, shard) : rows(a.proj, t.H, ci);
    std::vector<int> deps;
    if (wait >= 0) deps.push_back(wait);
    return b.residual_add(name, l, src, local_rows(a.x, ci), deps);
  };

  // Vocab-parallel embedding (vLLM's VocabParallelEmbedding): each rank looks up the tokens of
  // its vocabulary shard (x_in holds that partial lookup, zero rows elsewhere) and the sum over
  // the group is the embedding: an all-reduce, or a reduce-scatter into the token shard.
  int embed_wait = -1;
  if (!comm) {
    b.copy("embed", -1, V::view(x_in, t.M, t.H, 0, 0, all_tokens), V::view(a.x, t.M, t.H, 0, 0, all_tokens));
  } else if (t.sp) {
    const int e = b.collective("embed_rs", -1, CollectiveKind::ReduceScatter, V::view(x_in, t.Mp, t.H, 0, 0, padded),
                               V::view(a.x, t.Ml, t.H, 0, 0, shard), t.n, cs, {});
    if (cs == StreamId::Comm) embed_wait = e;
  } else {
    const int e = b.collective("embed_ar", -1, CollectiveKind::AllReduce, V::view(x_in, t.M, t.H, 0, 0, all_tokens),
                               V::view(a.x, t.M, t.H, 0, 0, all_tokens), t.n, cs, {});
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
      if (t.sp) gemm_deps.push_back(hn);
      b.gemm(p + s + "qkv", l, rows(a.h, t.H, ci), V::view(lw.wqkv, t.H, t.qkv_w), rows(a.qkv, t.qkv_w, ci),
             StreamId::Compute, gemm_deps);
      AttentionShape as{seqs[ci].second - seqs[ci].first, t.T, t.P, t.ql, t.kvl, t.d, seqs[ci].first};
      const int64_t r0 = seqs[ci].first * t.T, nr = as.batch * t.T;
      b.attention(p + s + "attn", l, V::view(a.qkv, nr, t.qkv_w, t.qkv_w, r0 * t.qkv_w, chunk_rule(ci)), lw.kc, lw.vc,
                  V::view(a.att, nr, t.ql * t.d, t.ql * t.d, r0 * t.ql * t.d, chunk_rule(ci)), as);
      const int o = b.gemm(p + s + "o_proj", l, rows(a.att, t.ql * t.d, ci), V::view(lw.wo, t.ql * t.d, t.H),
                           rows(a.proj, t.H, ci));
      pending_attn[ci] = reduce(p + s + (t.sp ? "o_rs" : "o_ar"), l, o, ci);
    }
    for (int64_t ci = 0; ci < chunks; ++ci) {
      const std::string s = chunks > 1 ? "c" + std::to_string(ci) + "." : "";
      residual(p + s + "attn_residual", l, pending_attn[ci], ci);
      const int hn = norm_into_h(p + s + "mlp_norm", l, lw.n2, ci);
      if (m.ffn_kind(l) == FfnKind::MoE) {  // validate_config: one chunk, no sequence parallelism
        const MoeBlockOutput out = build_moe_block(b, c, t.rank, l, lw.moe, moe_scratch, routing, moe_tokens,
                                                   rows(a.h, t.H, ci), cs);
        std::vector<int> deps;
        if (out.wait >= 0) deps.push_back(out.wait);
        b.residual_add(p + "mlp_residual", l, out.sum, local_rows(a.x, ci), deps);
        continue;
      }
      std::vector<int> gemm_deps;
      if (t.sp) gemm_deps.push_back(hn);
      b.gemm(p + s + "gate_up", l, rows(a.h, t.H, ci), V::view(lw.wgu, t.H, 2 * t.il), rows(a.gu, 2 * t.il, ci),
             StreamId::Compute, gemm_deps);
      b.silu_mul(p + s + "silu_mul", l, rows(a.gu, 2 * t.il, ci), rows(a.act, t.il, ci));
      const int dn = b.gemm(p + s + "down", l, rows(a.act, t.il, ci), V::view(lw.wd, t.il, t.H), rows(a.proj, t.H, ci));
      const int red = reduce(p + s + (t.sp ? "down_rs" : "down_ar"), l, dn, ci);
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
  if (t.sp) {
    hn = norm_into_h("head.final_norm", -1, final_norm, 0);
  } else {
    b.rmsnorm("head.final_norm", -1, V::view(a.x, t.M, t.H, 0, 0, all_tokens), V::view(final_norm, 1, t.H),
              V::view(a.h, t.M, t.H, 0, 0, all_tokens));
  }
  std::vector<int> lm_deps;
  if (hn >= 0) lm_deps.push_back(hn);
  const int lm = b.gemm("head.lm_head", -1, V::view(a.h, t.B, t.H, t.T * t.H, (t.T - 1) * t.H, logit_rows),
                        V::view(lm_head, t.H, t.vl), V::view(a.logits_local, t.B, t.vl, 0, 0, logit_rows),
                        StreamId::Compute, lm_deps);
  if (comm) {
    b.collective("head.logits_ag", -1, CollectiveKind::AllGather, V::view(a.logits_local, t.B, t.vl, 0, 0, logit_rows),
                 V::view(a.logits, t.n * t.B, t.vl), t.n, cs, {lm});
  }
  r.output = V::view(a.logits, t.B, t.vl);
  r.output_seq0 = 0;
  r.output_parts = comm ? t.n : 1;
  r.output_part_stride = t.B * t.vl;
}

}  // namespace tpbench::detail
