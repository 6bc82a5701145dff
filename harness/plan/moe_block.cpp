// The mixture-of-experts feed-forward block of the tp plan (see detail/moe_block.hpp).
#include "harness/plan/detail/moe_block.hpp"

#include <algorithm>
#include <numeric>

#include "harness/plan/moe_routing.hpp"

namespace tpbench::detail {
namespace {

// Where a rank sits in the expert layout.
struct ExpertLayout {
  int ranks = 1, ep = 1, group_ranks = 1, group = 0, member = 0;
  int64_t experts = 0, k = 0, local_experts = 0, first_expert = 0;
  int64_t slice = 0;         // columns of one expert's intermediate on this rank
  int64_t shared_slice = 0;  // columns of the shared experts' intermediate on this rank
  bool dispatch() const { return ep > 1; }
  int group_of_expert(int64_t x) const { return int(x / local_experts); }
};

ExpertLayout expert_layout(const ModelSpec& m, const StepConfig& c, int rank) {
  ExpertLayout l;
  l.ranks = c.tp;
  l.ep = c.ep;
  l.group_ranks = c.tp / c.ep;
  l.group = rank / l.group_ranks;
  l.member = rank % l.group_ranks;
  l.experts = m.moe.experts;
  l.k = m.moe.experts_per_token;
  l.local_experts = m.moe.experts / c.ep;
  l.first_expert = l.group * l.local_experts;
  l.slice = m.moe.expert_intermediate / l.group_ranks;
  const int64_t shared = m.moe.shared_experts * m.moe.shared_intermediate;
  // Dispatched tokens stay on their owner for the shared experts, which it holds whole.
  l.shared_slice = l.dispatch() ? shared : shared / c.tp;
  return l;
}

// Token rows of rank `rank`'s shard: [first, first + count) of rows_per_rank-row blocks.
struct TokenShard {
  int64_t rows_per_rank = 0, first = 0, count = 0;
};
TokenShard token_shard(int64_t rows, int ranks, int rank) {
  TokenShard s;
  s.rows_per_rank = (rows + ranks - 1) / ranks;
  s.first = std::min(rows, rank * s.rows_per_rank);
  s.count = std::min(rows, s.first + s.rows_per_rank) - s.first;
  return s;
}

// One (token row, choice j) pair bound for expert x.
struct RoutedPair {
  int64_t row, j, expert;
};

// The pairs rank `src` sends to rank `dst` (ep > 1), in (expert, row, j) order: every pair of
// src's shard whose expert lives in dst's group.
using DispatchLists = std::vector<std::vector<std::vector<RoutedPair>>>;  // [src][dst]
DispatchLists dispatch_lists(const ExpertLayout& l, const std::vector<int32_t>& chosen, int64_t rows) {
  DispatchLists lists(size_t(l.ranks), std::vector<std::vector<RoutedPair>>(size_t(l.ranks)));
  for (int src = 0; src < l.ranks; ++src) {
    const TokenShard sh = token_shard(rows, l.ranks, src);
    for (int64_t g = sh.first; g < sh.first + sh.count; ++g)
      for (int64_t j = 0; j < l.k; ++j) {
        const int64_t x = chosen[size_t(g * l.k + j)];
        const int grp = l.group_of_expert(x);
        for (int m = 0; m < l.group_ranks; ++m) lists[size_t(src)][size_t(grp * l.group_ranks + m)].push_back({g, j, x});
      }
    for (auto& list : lists[size_t(src)])
      std::stable_sort(list.begin(), list.end(), [](const RoutedPair& a, const RoutedPair& b) { return a.expert < b.expert; });
  }
  return lists;
}

int64_t capacity_of(const DispatchLists& lists) {
  size_t c = 0;
  for (const auto& row : lists)
    for (const auto& list : row) c = std::max(c, list.size());
  return int64_t(c);
}

int64_t received_pairs(const DispatchLists& lists, int rank) {
  int64_t n = 0;
  for (const auto& row : lists) n += int64_t(row[size_t(rank)].size());
  return n;
}

}  // namespace

MoeRouting route_step(const ModelSpec& m, const StepConfig& c, int64_t layers, const MoeStepTokens& t) {
  MoeRouting r;
  r.chosen.resize(size_t(layers));
  for (int64_t l = 0; l < layers; ++l) {
    if (m.ffn_kind(l) != FfnKind::MoE) continue;
    std::vector<int32_t>& out = r.chosen[size_t(l)];
    out.reserve(size_t(t.rows() * m.moe.experts_per_token));
    for (int64_t g = 0; g < t.rows(); ++g) {
      const std::vector<int32_t> ids =
          routed_experts(c.seed, int(l), g / t.tokens, t.prior + g % t.tokens, m.moe.experts, m.moe.experts_per_token);
      out.insert(out.end(), ids.begin(), ids.end());
    }
  }
  return r;
}

MoeLayerWeights declare_moe_weights(ProgramBuilder& b, const StepConfig& c, int rank, int layer) {
  const ModelSpec& m = b.model();
  const ExpertLayout l = expert_layout(m, c, rank);
  const std::string p = "L" + std::to_string(layer) + ".";
  const int64_t H = m.hidden, Ie = m.moe.expert_intermediate, s = l.slice;
  MoeLayerWeights w;
  w.router = b.weight(p + "router", H * l.experts,
                      fused_segments(layer, H, l.experts, {{LogicalWeight::Router, 0, 0, l.experts, 0}}, 0));
  // Local expert i: its gate and up column slices side by side [H, 2s], then its down rows [s, H].
  std::vector<WeightSegment> gate_up, down;
  for (int64_t i = 0; i < l.local_experts; ++i) {
    const int64_t x = l.first_expert + i, col0 = l.member * s;
    for (const WeightSegment& seg : fused_segments(layer, H, 2 * s,
                                                   {{LogicalWeight::ExpertGate, x * H, col0, s, 0},
                                                    {LogicalWeight::ExpertUp, x * H, col0, s, s}},
                                                   i * H * 2 * s))
      gate_up.push_back(seg);
    for (const WeightSegment& seg :
         fused_segments(layer, s, H, {{LogicalWeight::ExpertDown, x * Ie + l.member * s, 0, H, 0}}, i * s * H))
      down.push_back(seg);
  }
  w.experts_gate_up = b.linear_weight(p + "experts_gate_up", l.local_experts * H * 2 * s, std::move(gate_up));
  w.experts_down = b.linear_weight(p + "experts_down", l.local_experts * s * H, std::move(down));
  if (l.shared_slice > 0) {
    const int64_t ss = l.shared_slice, col0 = l.dispatch() ? 0 : rank * ss;
    w.shared_gate_up = b.linear_weight(p + "shared_gate_up", H * 2 * ss,
                                       fused_segments(layer, H, 2 * ss,
                                                      {{LogicalWeight::SharedGate, 0, col0, ss, 0},
                                                       {LogicalWeight::SharedUp, 0, col0, ss, ss}},
                                                      0));
    w.shared_down = b.linear_weight(p + "shared_down", ss * H,
                                    fused_segments(layer, ss, H, {{LogicalWeight::SharedDown, col0, 0, H, 0}}, 0));
  }
  return w;
}

MoeScratch declare_moe_scratch(ProgramBuilder& b, const StepConfig& c, int rank, const MoeRouting& routing,
                               const MoeStepTokens& t) {
  const ModelSpec& m = b.model();
  const ExpertLayout l = expert_layout(m, c, rank);
  const int64_t H = m.hidden, M = t.rows();
  const TokenShard sh = token_shard(M, l.ranks, rank);
  // Rows the router and the shared experts see, and the (token, expert) rows the experts get.
  const int64_t token_rows = l.dispatch() ? sh.rows_per_rank : M;
  int64_t pairs = 0;
  MoeScratch s;
  for (const std::vector<int32_t>& chosen : routing.chosen) {
    if (chosen.empty()) continue;
    if (!l.dispatch()) {
      pairs = M * l.k;
      continue;
    }
    const DispatchLists lists = dispatch_lists(l, chosen, M);
    s.capacity = std::max(s.capacity, capacity_of(lists));
    pairs = std::max(pairs, received_pairs(lists, rank));
  }
  s.logits = b.activation("moe_logits", token_rows * l.experts);
  s.gates = b.activation("moe_gates", token_rows * l.k);
  s.expert_in = b.activation("moe_expert_in", pairs * H);
  s.gate_up = b.activation("moe_gate_up", pairs * 2 * l.slice);
  s.act = b.activation("moe_act", pairs * l.slice);
  s.expert_out = b.activation("moe_expert_out", pairs * H);
  s.shard_out = b.activation("moe_out", token_rows * H);
  if (l.shared_slice > 0) {
    s.shared_gate_up = b.activation("moe_shared_gate_up", token_rows * 2 * l.shared_slice);
    s.shared_act = b.activation("moe_shared_act", token_rows * l.shared_slice);
    s.shared_out = b.activation("moe_shared_out", token_rows * H);
  }
  if (l.dispatch()) {
    s.send = b.activation("moe_send", l.ranks * s.capacity * H);
    s.recv = b.activation("moe_recv", l.ranks * s.capacity * H);
    s.gathered = b.activation("moe_gathered", l.ranks * sh.rows_per_rank * H);
  }
  return s;
}

namespace {

struct BlockContext {
  ProgramBuilder& b;
  const ExpertLayout& l;
  const MoeLayerWeights& w;
  const MoeScratch& s;
  int layer;
  std::string prefix;
  int64_t hidden, step_rows;
  StreamId comm;
};

RowRule tokens_rule(double per_token = 1) { return RowRule{RowBasis::Tokens, SeqShare::All, 0, 1, per_token}; }
RowRule shard_rule(int ranks, double per_token = 1) {
  return RowRule{RowBasis::TokenShard, SeqShare::All, 0, ranks, per_token};
}
// The (token, expert) rows a rank's experts get: k per token, of which its group's 1/ep share.
RowRule pairs_rule(const ExpertLayout& l) { return tokens_rule(double(l.k) / double(l.ep)); }

// The rank's experts over the rows of `src` that source_rows picks, in expert order (group i:
// group_rows[i] rows): gather, gate/up, SiLU-and-multiply, down, into s.expert_out. Returns the
// last op.
int run_experts(const BlockContext& x, View src, std::vector<int64_t> source_rows, std::vector<int64_t> group_rows,
                std::vector<int> deps) {
  const ExpertLayout& l = x.l;
  const int64_t P = int64_t(source_rows.size()), H = x.hidden, s = l.slice;
  const RowRule pr = pairs_rule(l);
  const View in = buffer_view(x.s.expert_in, P, H, H, 0, pr);
  x.b.gather_rows(x.prefix + "experts_gather", x.layer, src, in, std::move(source_rows), std::move(deps));
  MoeOpInfo info;
  info.experts = l.experts;
  info.top_k = l.k;
  info.groups = l.local_experts;
  info.first_expert = l.first_expert;
  info.step_tokens = double(x.step_rows);
  info.weight_stride = H * 2 * s;
  const View gu = buffer_view(x.s.gate_up, P, 2 * s, 2 * s, 0, pr);
  x.b.grouped_gemm(x.prefix + "experts_gate_up", x.layer, in, buffer_view(x.w.experts_gate_up, H, 2 * s), gu, info,
                   group_rows);
  const View act = buffer_view(x.s.act, P, s, s, 0, pr);
  x.b.silu_mul(x.prefix + "experts_silu_mul", x.layer, gu, act);
  info.weight_stride = s * H;
  return x.b.grouped_gemm(x.prefix + "experts_down", x.layer, act, buffer_view(x.w.experts_down, s, H),
                          buffer_view(x.s.expert_out, P, H, H, 0, pr), info, std::move(group_rows));
}

// The shared experts over `rows` token rows of `in`, added into `out`. Returns the last op, or -1.
int run_shared(const BlockContext& x, View in, View out, RowRule rule) {
  if (x.w.shared_gate_up < 0) return -1;
  const int64_t rows = in.rows, H = x.hidden, ss = x.l.shared_slice;
  const View gu = buffer_view(x.s.shared_gate_up, rows, 2 * ss, 2 * ss, 0, rule);
  const View act = buffer_view(x.s.shared_act, rows, ss, ss, 0, rule);
  const View y = buffer_view(x.s.shared_out, rows, H, H, 0, rule);
  x.b.gemm(x.prefix + "shared_gate_up", x.layer, in, buffer_view(x.w.shared_gate_up, H, 2 * ss), gu);
  x.b.silu_mul(x.prefix + "shared_silu_mul", x.layer, gu, act);
  x.b.gemm(x.prefix + "shared_down", x.layer, act, buffer_view(x.w.shared_down, ss, H), y);
  return x.b.residual_add(x.prefix + "shared_add", x.layer, y, out);
}

// ep == 1: all tokens through the rank's slice of every expert, then an all-reduce.
MoeBlockOutput experts_sliced(const BlockContext& x, const std::vector<int32_t>& chosen, View h) {
  const ExpertLayout& l = x.l;
  const int64_t M = x.step_rows, H = x.hidden;
  const RowRule tok = tokens_rule();
  const View logits = buffer_view(x.s.logits, M, l.experts, l.experts, 0, tok);
  const View gates = buffer_view(x.s.gates, M, l.k, l.k, 0, tok);
  x.b.gemm(x.prefix + "router", x.layer, h, buffer_view(x.w.router, H, l.experts), logits);
  x.b.moe_gate(x.prefix + "moe_gate", x.layer, logits, gates, l.experts, chosen);
  // Pairs in expert order: bucket the (row, j) pairs by expert, rows ascending within one.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> by_expert(size_t(l.experts));
  for (int64_t g = 0; g < M; ++g)
    for (int64_t j = 0; j < l.k; ++j) by_expert[size_t(chosen[size_t(g * l.k + j)])].push_back({g, j});
  std::vector<int64_t> source_rows, group_rows;
  std::vector<MoeCombineTerm> terms;
  for (const auto& pairs : by_expert) {
    group_rows.push_back(int64_t(pairs.size()));
    for (const auto& [g, j] : pairs) {
      terms.push_back({g, g, j, int64_t(source_rows.size())});
      source_rows.push_back(g);
    }
  }
  const int64_t P = int64_t(source_rows.size());
  run_experts(x, h, std::move(source_rows), std::move(group_rows), {});
  const View out = buffer_view(x.s.shard_out, M, H, H, 0, tok);
  x.b.moe_combine(x.prefix + "moe_combine", x.layer, buffer_view(x.s.expert_out, P, H, H, 0, pairs_rule(l)), gates, out,
                  std::move(terms));
  const int last = run_shared(x, h, out, tok);
  if (l.ranks == 1) return {-1, out};
  const int ar = x.b.collective(x.prefix + "moe_ar", x.layer, CollectiveKind::AllReduce, out, out, l.ranks, x.comm,
                                {last >= 0 ? last : x.b.last_op()});
  return {ar, out};
}

}  // namespace

namespace {

// Row maps of one layer's dispatch on one rank (ep > 1): what it packs for each peer, how its
// experts read what it receives, where their outputs go back, and how the owner sums them.
struct DispatchMaps {
  int64_t capacity = 0;
  std::vector<int64_t> pack, experts_in, group_rows, unpack;
  std::vector<MoeCombineTerm> terms;
};

DispatchMaps dispatch_maps(const ExpertLayout& l, const DispatchLists& lists, int rank, const TokenShard& sh) {
  DispatchMaps d;
  const int64_t C = d.capacity = capacity_of(lists);
  d.pack.assign(size_t(l.ranks * C), -1);
  d.unpack.assign(size_t(l.ranks * C), -1);
  for (int dst = 0; dst < l.ranks; ++dst) {
    const auto& list = lists[size_t(rank)][size_t(dst)];
    for (size_t i = 0; i < list.size(); ++i) {
      const RoutedPair& p = list[i];
      d.pack[size_t(dst * C) + i] = p.row;
      d.terms.push_back({p.row - sh.first, p.row - sh.first, p.j, dst * C + int64_t(i)});
    }
  }
  // Received rows in expert order: expert by expert, source rank by source rank (each source's
  // rows are already in expert order).
  std::vector<size_t> next(size_t(l.ranks), 0);
  for (int64_t e = 0; e < l.local_experts; ++e) {
    int64_t rows = 0;
    for (int src = 0; src < l.ranks; ++src) {
      const auto& list = lists[size_t(src)][size_t(rank)];
      for (size_t& i = next[size_t(src)]; i < list.size() && list[i].expert == l.first_expert + e; ++i, ++rows) {
        d.unpack[size_t(src * C) + i] = int64_t(d.experts_in.size());
        d.experts_in.push_back(src * C + int64_t(i));
      }
    }
    d.group_rows.push_back(rows);
  }
  return d;
}

// ep > 1: route the rank's token shard, dispatch, run the experts, return, combine, all-gather.
MoeBlockOutput experts_dispatched(const BlockContext& x, const std::vector<int32_t>& chosen, View h, int rank) {
  const ExpertLayout& l = x.l;
  const int64_t M = x.step_rows, H = x.hidden;
  const TokenShard sh = token_shard(M, l.ranks, rank);
  const RowRule shard = shard_rule(l.ranks), sent = shard_rule(l.ranks, double(l.k * l.group_ranks));
  const View hs = buffer_view(h.buffer, sh.count, H, h.ld, sh.count > 0 ? h.offset + sh.first * h.ld : h.offset, shard);
  const View logits = buffer_view(x.s.logits, sh.count, l.experts, l.experts, 0, shard);
  const View gates = buffer_view(x.s.gates, sh.count, l.k, l.k, 0, shard);
  x.b.gemm(x.prefix + "router", x.layer, hs, buffer_view(x.w.router, H, l.experts), logits);
  x.b.moe_gate(x.prefix + "moe_gate", x.layer, logits, gates, l.experts,
               std::vector<int32_t>(chosen.begin() + sh.first * l.k, chosen.begin() + (sh.first + sh.count) * l.k));

  DispatchMaps d = dispatch_maps(l, dispatch_lists(l, chosen, M), rank, sh);
  const int64_t rows = l.ranks * d.capacity;
  const View send = buffer_view(x.s.send, rows, H, H, 0, sent), recv = buffer_view(x.s.recv, rows, H, H, 0, sent);
  const int pack = x.b.gather_rows(x.prefix + "moe_pack", x.layer, buffer_view(h.buffer, M, H, h.ld, h.offset, tokens_rule()),
                                   send, std::move(d.pack));
  const int dispatch = x.b.collective(x.prefix + "moe_dispatch", x.layer, CollectiveKind::AllToAll, send, recv, l.ranks,
                                      x.comm, {pack});
  const int64_t P = int64_t(d.experts_in.size());
  run_experts(x, recv, std::move(d.experts_in), std::move(d.group_rows), {dispatch});
  const int unpack = x.b.gather_rows(x.prefix + "moe_unpack", x.layer,
                                     buffer_view(x.s.expert_out, P, H, H, 0, pairs_rule(l)), send, std::move(d.unpack));
  const int ret = x.b.collective(x.prefix + "moe_return", x.layer, CollectiveKind::AllToAll, send, recv, l.ranks,
                                 x.comm, {unpack});
  const View out = buffer_view(x.s.shard_out, sh.rows_per_rank, H, H, 0, shard);
  x.b.moe_combine(x.prefix + "moe_combine", x.layer, recv, gates, out, std::move(d.terms), {ret});
  const View owned = buffer_view(x.s.shard_out, sh.count, H, H, 0, shard);
  run_shared(x, hs, owned, shard);
  const View all = buffer_view(x.s.gathered, l.ranks * sh.rows_per_rank, H, H, 0,
                           RowRule{RowBasis::PaddedTokens, SeqShare::All, 0, l.ranks});
  const int ag = x.b.collective(x.prefix + "moe_all_gather", x.layer, CollectiveKind::AllGather, out, all, l.ranks,
                                x.comm, {x.b.last_op()});
  return {ag, buffer_view(x.s.gathered, M, H, H, 0, tokens_rule())};
}

}  // namespace

MoeBlockOutput build_moe_block(ProgramBuilder& b, const StepConfig& c, int rank, int layer, const MoeLayerWeights& w,
                               const MoeScratch& s, const MoeRouting& routing, const MoeStepTokens& tokens, View h,
                               StreamId comm) {
  const ExpertLayout l = expert_layout(b.model(), c, rank);
  const BlockContext x{b, l, w, s, layer, "L" + std::to_string(layer) + ".", b.model().hidden, tokens.rows(), comm};
  const std::vector<int32_t>& chosen = routing.chosen[size_t(layer)];
  return l.dispatch() ? experts_dispatched(x, chosen, h, rank) : experts_sliced(x, chosen, h);
}

}  // namespace tpbench::detail
