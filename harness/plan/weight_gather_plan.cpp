// The weight-gather plan (fully sharded weights, as ZeRO-3 and FSDP shard them): weights
// sharded 1/N flat, all-gathered layer by layer into two alternating buffers; requests split
// across ranks, ceil(B/N) each.
#include <algorithm>

#include "harness/common/error.hpp"
#include "harness/plan/detail/program_builder.hpp"
#include "harness/plan/plan.hpp"

namespace tpbench::detail {
namespace {

// The canonical flat layout of one layer: [Wqkv | Wo | Wgate_up | Wdown | attn_norm | mlp_norm],
// each row-major with fused column groups (q|k|v, gate|up). Rank r stores elements
// [r * chunk, (r + 1) * chunk) of it; an all-gather rebuilds the whole layer.
struct LayerLayout {
  std::vector<FlatMatrix> mats;
  int64_t qkv, o, gu, down, n1, n2, total;
};

LayerLayout layer_layout(const ModelSpec& m) {
  const int64_t H = m.hidden, qw = m.q_width(), kw = m.kv_width(), I = m.intermediate;
  LayerLayout L{};
  int64_t at = 0;
  auto add = [&](int64_t rows, int64_t width, std::vector<FusedPart> parts) {
    L.mats.push_back(FlatMatrix{at, rows, width, std::move(parts)});
    const int64_t base = at;
    at += rows * width;
    return base;
  };
  L.qkv = add(H, qw + 2 * kw,
              {{LogicalWeight::Q, 0, 0, qw, 0}, {LogicalWeight::K, 0, 0, kw, qw}, {LogicalWeight::V, 0, 0, kw, qw + kw}});
  L.o = add(qw, H, {{LogicalWeight::O, 0, 0, H, 0}});
  L.gu = add(H, 2 * I, {{LogicalWeight::Gate, 0, 0, I, 0}, {LogicalWeight::Up, 0, 0, I, I}});
  L.down = add(I, H, {{LogicalWeight::Down, 0, 0, H, 0}});
  L.n1 = add(1, H, {{LogicalWeight::AttnNorm, 0, 0, H, 0}});
  L.n2 = add(1, H, {{LogicalWeight::MlpNorm, 0, 0, H, 0}});
  L.total = at;
  return L;
}

}  // namespace

// Longer than ~80 lines on purpose: one rank's program in execution order (buffers, the gathers
// of layer l+1 issued before layer l's compute, LM head); its pieces share the double-buffer
// state, and split apart they would hide the prefetch order this function exists to state.
void build_weight_gather_rank(const ModelSpec& m, const StepConfig& c, int64_t layers, RankProgram& r) {
  ProgramBuilder b(m, r);
  const int n = c.tp, rank = r.rank;
  const int64_t B = c.batch, T = c.new_tokens(), S = c.context, P = c.prior();
  const int64_t H = m.hidden, d = m.head_dim, I = m.intermediate, Vv = m.vocab;
  const int64_t qkv_w = m.q_width() + 2 * m.kv_width();
  const int64_t per_rank = (B + n - 1) / n;
  const int64_t seq0 = std::min<int64_t>(B, rank * per_rank);
  const int64_t mine = std::min<int64_t>(B, seq0 + per_rank) - seq0;  // may be 0
  const int64_t M = mine * T;
  const StreamId cs = c.overlap == Overlap::None ? StreamId::Compute : StreamId::Comm;

  // This rank's requests: its block of the step's sequences, their tokens and logits rows.
  const RowRule my_tokens{RowBasis::Tokens, SeqShare::RankBlock, rank, n};
  const RowRule my_logits{RowBasis::Logits, SeqShare::RankBlock, rank, n};
  auto tok = [&](int buf, int64_t width) { return buffer_view(buf, M, width, 0, 0, my_tokens); };

  // One flat buffer holds a layer's linear weights and its norms: it has one storage type.
  if (m.weight_dtype != m.dtype)
    throw UsageError(std::string("the weight-gather plan does not model ") + dtype_name(m.weight_dtype) +
                     " linear weights beside " + dtype_name(m.dtype) + " norms in its flat layer shards (use tp or tp-sp)");
  const LayerLayout L = layer_layout(m);
  const int64_t chunk = (L.total + n - 1) / n;
  const std::vector<FlatMatrix> head_layout{FlatMatrix{0, H, Vv, {{LogicalWeight::LmHead, 0, 0, Vv, 0}}}};
  const int64_t head_chunk = (H * Vv + n - 1) / n;
  const int64_t stage = n * std::max(chunk, head_chunk);

  // Stored shards (1/N of every layer and of the LM head), then the two gather buffers.
  std::vector<int> shard;
  for (int l = 0; l < layers; ++l) {
    const int64_t f0 = std::min(L.total, rank * chunk), cnt = std::min(L.total, f0 + chunk) - f0;
    shard.push_back(b.weight("L" + std::to_string(l) + ".shard", chunk, flat_range_segments(l, L.mats, f0, cnt, 0)));
  }
  const int64_t hf0 = std::min(H * Vv, rank * head_chunk);
  const int head_shard = b.weight("lm_head.shard", head_chunk,
                                  flat_range_segments(-1, head_layout, hf0, std::min(H * Vv, hf0 + head_chunk) - hf0, 0));
  // 1/N of the embedding table, flat, like every other weight (tied: the LM head's).
  if (!m.tied_embeddings) {
    const std::vector<FlatMatrix> embed_layout{FlatMatrix{0, Vv, H, {{LogicalWeight::Embedding, 0, 0, H, 0}}}};
    const int64_t ef0 = std::min(H * Vv, rank * head_chunk);
    b.weight("embedding.shard", head_chunk,
             flat_range_segments(-1, embed_layout, ef0, std::min(H * Vv, ef0 + head_chunk) - ef0, 0));
  }
  const int final_norm = b.weight("final_norm", H, fused_segments(-1, 1, H, {{LogicalWeight::FinalNorm, 0, 0, H, 0}}, 0));
  const int staging[2] = {b.staging("gather0", stage), b.staging("gather1", stage)};

  const int64_t Mb = std::max<int64_t>(M, 1);  // buffers of at least one row
  // x_in stands for the embedding output; the prologue copies it into the residual stream x.
  const int x_in = b.hidden_input("x_in", Mb * H, HiddenInit{seq0, T, M, 0});
  const int x = b.activation("x", Mb * H);
  const int h = b.activation("h", Mb * H);
  const int qkv = b.activation("qkv", Mb * qkv_w);
  const int att = b.activation("attn_out", Mb * m.q_width());
  const int proj = b.activation("proj", Mb * H);
  const int gu = b.activation("gate_up", Mb * 2 * I);
  const int act = b.activation("act", Mb * I);
  const int logits = b.activation("logits", std::max<int64_t>(mine, 1) * Vv);
  std::vector<std::pair<int, int>> caches;
  for (int l = 0; l < layers; ++l) {
    KVInit kv;
    kv.layer = l;
    kv.seq0 = seq0;
    kv.prior = P;
    kv.positions = S;
    for (int64_t j = 0; j < m.kv_heads; ++j) kv.kv_head_map.push_back(j);
    const int64_t elems = std::max<int64_t>(mine, 1) * m.kv_heads * S * d;
    const std::string p = "L" + std::to_string(l) + ".";
    caches.push_back({b.kv_cache(p + "k_cache", elems, InitKind::KCache, kv),
                      b.kv_cache(p + "v_cache", elems, InitKind::VCache, kv)});
  }

  // Gather of section s (layers 0..L-1, then the head as section L) into staging[s % 2]. It may
  // start once section s-2, the last user of that buffer, has finished: with a communication
  // stream this prefetches section s+1 while section s computes.
  std::vector<int> last_compute(layers + 1, -1);
  auto gather = [&](int s) {
    std::vector<int> deps;
    if (s >= 2 && last_compute[s - 2] >= 0) deps.push_back(last_compute[s - 2]);
    const bool head = s == layers;
    const int64_t cnt = head ? head_chunk : chunk;
    const int src = head ? head_shard : shard[s];
    return b.collective(head ? "head.weight_ag" : "L" + std::to_string(s) + ".weight_ag", head ? -1 : s,
                        CollectiveKind::AllGather, buffer_view(src, 1, cnt), buffer_view(staging[s % 2], 1, n * cnt), n, cs,
                        deps);
  };

  std::vector<int> gathered(layers + 1, -1);
  // Prologue: the embedding copy and the gather of layer 0, which nothing can hide.
  if (M > 0) b.copy("embed", -1, tok(x_in, H), tok(x, H));
  gathered[0] = gather(0);
  r.layers_begin = b.next_op();
  for (int l = 0; l < layers; ++l) {
    // Prefetch the next layer before computing this one (on the comm stream it overlaps). The
    // head's gather stays in the head section so that the layers section is per-layer work.
    if (cs == StreamId::Comm && l + 1 < layers) gathered[l + 1] = gather(l + 1);
    const int st = staging[l % 2];
    const std::string p = "L" + std::to_string(l) + ".";
    if (M > 0) {
      b.rmsnorm(p + "attn_norm", l, tok(x, H), buffer_view(st, 1, H, H, L.n1), tok(h, H), {gathered[l]});
      b.gemm(p + "qkv", l, tok(h, H), buffer_view(st, H, qkv_w, qkv_w, L.qkv), tok(qkv, qkv_w));
      AttentionShape as{mine, T, P, m.q_heads, m.kv_heads, d, 0};
      b.attention(p + "attn", l, tok(qkv, qkv_w), caches[l].first, caches[l].second,
                  tok(att, m.q_width()), as);
      b.gemm(p + "o_proj", l, tok(att, m.q_width()), buffer_view(st, m.q_width(), H, H, L.o), tok(proj, H));
      b.residual_add(p + "attn_residual", l, tok(proj, H), tok(x, H));
      b.rmsnorm(p + "mlp_norm", l, tok(x, H), buffer_view(st, 1, H, H, L.n2), tok(h, H));
      b.gemm(p + "gate_up", l, tok(h, H), buffer_view(st, H, 2 * I, 2 * I, L.gu), tok(gu, 2 * I));
      b.silu_mul(p + "silu_mul", l, tok(gu, 2 * I), tok(act, I));
      b.gemm(p + "down", l, tok(act, I), buffer_view(st, I, H, H, L.down), tok(proj, H));
      last_compute[l] = b.residual_add(p + "mlp_residual", l, tok(proj, H), tok(x, H));
    }
    if (cs == StreamId::Compute && l + 1 < layers) gathered[l + 1] = gather(l + 1);
  }

  r.head_begin = b.next_op();
  gathered[layers] = gather(layers);
  if (M > 0) {
    const int st = staging[layers % 2];
    b.rmsnorm("head.final_norm", -1, tok(x, H), buffer_view(final_norm, 1, H), tok(h, H),
              {gathered[layers]});
    b.gemm("head.lm_head", -1, buffer_view(h, mine, H, T * H, (T - 1) * H, my_logits), buffer_view(st, H, Vv),
           buffer_view(logits, mine, Vv, 0, 0, my_logits));
  }
  r.output = buffer_view(logits, mine, Vv);
  r.output_seq0 = seq0;
  r.output_parts = 1;
  r.output_part_stride = 0;
}

}  // namespace tpbench::detail
