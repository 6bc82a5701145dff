// Plans against hand-derived numbers for Llama-3.1-70B (see the comments for each figure).
#include <gtest/gtest.h>

#include <map>

#include "harness/common/error.hpp"
#include "harness/plan/plan.hpp"

using namespace tpbench;

namespace {

StepProgram make(const std::string& model, PlanKind plan, int tp, int64_t batch, int64_t context,
                 Phase phase = Phase::Decode, int64_t chunk = 0, Overlap ov = Overlap::None) {
  StepConfig c;
  c.plan = plan;
  c.tp = tp;
  c.batch = batch;
  c.context = context;
  c.phase = phase;
  c.chunk = chunk;
  c.overlap = ov;
  return build_program(preset_model(model), c);
}

double collective_bytes(const RankProgram& r, CollectiveKind k, int layer) {
  double s = 0;
  for (const Op& op : r.ops)
    if (op.kind == OpKind::Collective && op.collective == k && op.layer == layer) s += op.message_bytes;
  return s;
}

}  // namespace

// Per-layer parameters of one rank, Llama-3.1-70B (H 8192, I 28672, 64 q heads, 8 KV, d 128):
//   TP1: qkv 8192*10240 + o 8192*8192 + gate/up 8192*57344 + down 28672*8192 + norms 16384
//   TP2: qkv 8192*(32+8)*128 + o 4096*8192 + gate/up 8192*28672 + down 14336*8192 + 16384
//   TP4: qkv 8192*(16+4)*128 + o 2048*8192 + gate/up 8192*14336 + down 7168*8192 + 16384
//   TP8: qkv 8192*(8+2)*128  + o 1024*8192 + gate/up 8192*7168  + down 3584*8192 + 16384
// plus the head: final norm 8192 + LM head 8192 * 128256/TP. Bytes: x2 (BF16).
TEST(TpPlan, WeightBytesPerRankLlama70b) {
  const std::map<int, long long> layer_params = {
      {1, 8192LL * 10240 + 8192LL * 8192 + 8192LL * 57344 + 28672LL * 8192 + 16384},
      {2, 8192LL * 5120 + 4096LL * 8192 + 8192LL * 28672 + 14336LL * 8192 + 16384},
      {4, 8192LL * 2560 + 2048LL * 8192 + 8192LL * 14336 + 7168LL * 8192 + 16384},
      {8, 8192LL * 1280 + 1024LL * 8192 + 8192LL * 7168 + 3584LL * 8192 + 16384}};
  for (auto [tp, per_layer] : layer_params) {
    const StepProgram p = make("llama-3.1-70b", PlanKind::TP, tp, 1, 1024);
    // Layers, the final norm, and the vocab-parallel LM head and embedding table (1/tp each).
    const long long expected = 2 * (80 * per_layer + 8192 + 2 * (8192LL * 128256 / tp));
    for (const RankProgram& r : p.ranks) EXPECT_EQ(footprint(r, 2).weight_bytes, expected) << "TP=" << tp;
  }
  EXPECT_EQ(layer_params.at(1), 855654400LL);
}

// Decode: two all-reduces per layer of batch x hidden BF16 values: 2 * B * 8192 * 2 bytes.
TEST(TpPlan, AllReduceBytesPerLayer) {
  for (int tp : {2, 4, 8})
    for (int64_t B : {1, 8, 64}) {
      const StepProgram p = make("llama-3.1-70b", PlanKind::TP, tp, B, 2048);
      EXPECT_DOUBLE_EQ(collective_bytes(p.ranks[0], CollectiveKind::AllReduce, 7), 2.0 * B * 8192 * 2)
          << "TP=" << tp << " B=" << B;
    }
  const StepProgram one = make("llama-3.1-70b", PlanKind::TP, 1, 8, 2048);
  EXPECT_EQ(totals(one.ranks[0]).collectives, 0);  // TP=1 communicates nothing
}

// Sequence parallel: each all-reduce becomes a reduce-scatter of the same size plus an all-gather.
TEST(TpSpPlan, CollectivesReplaceAllReduce) {
  const StepProgram p = make("llama-3.1-70b", PlanKind::TPSP, 4, 8, 2048);
  EXPECT_DOUBLE_EQ(collective_bytes(p.ranks[0], CollectiveKind::AllReduce, 3), 0.0);
  EXPECT_DOUBLE_EQ(collective_bytes(p.ranks[0], CollectiveKind::ReduceScatter, 3), 2.0 * 8 * 8192 * 2);
  EXPECT_DOUBLE_EQ(collective_bytes(p.ranks[0], CollectiveKind::AllGather, 3), 2.0 * 8 * 8192 * 2);
}

// Weight-gather: each layer's all-gather moves the whole layer: 855,654,400 params x 2 bytes
// (divisible by 1, 2, 4 and 8, so no padding).
TEST(WeightGatherPlan, GatherBytesPerLayer) {
  for (int tp : {1, 2, 4, 8}) {
    const StepProgram p = make("llama-3.1-70b", PlanKind::WeightGather, tp, 8, 2048);
    EXPECT_DOUBLE_EQ(collective_bytes(p.ranks[tp - 1], CollectiveKind::AllGather, 11), 855654400.0 * 2)
        << "TP=" << tp;
    // Stored: 1/N of every layer (and of the LM head and the embedding table) per rank.
    EXPECT_EQ(footprint(p.ranks[0], 2).weight_bytes,
              2 * (80 * (855654400LL / tp) + 2 * ((8192LL * 128256 + tp - 1) / tp) + 8192))
        << "TP=" << tp;
  }
}

// KV bytes per token per rank: 2 (K, V) x 80 layers x local KV heads x 128 x 2 bytes;
// local KV heads = 8 / TP (TP <= 8). Total 327,680 B/token unsharded.
TEST(TpPlan, KvBytesPerTokenPerRank) {
  const std::map<int, long long> expected = {{1, 327680}, {2, 163840}, {4, 81920}, {8, 40960}};
  for (auto [tp, bytes] : expected) {
    const int64_t B = 3, S = 1000;
    const StepProgram p = make("llama-3.1-70b", PlanKind::TP, tp, B, S);
    EXPECT_EQ(footprint(p.ranks[0], 2).kv_bytes, bytes * B * S) << "TP=" << tp;
  }
}

// TP=16 exceeds the 8 KV heads: each rank keeps one replicated KV head, head = rank * 8 / 16.
TEST(TpPlan, KvHeadsReplicatedBeyondTheirCount) {
  const StepProgram p = make("llama-3.1-70b", PlanKind::TP, 16, 1, 128);
  for (const RankProgram& r : p.ranks)
    for (const Buffer& b : r.buffers)
      if (b.kind == BufferKind::KVCache) {
        ASSERT_EQ(b.kv_init.kv_head_map.size(), 1u);
        EXPECT_EQ(b.kv_init.kv_head_map[0], r.rank / 2);
      }
}

// Matrix FLOPs (GEMMs + attention) of all ranks add up to the unsharded step's, for every plan.
// Hand check of TP=1 decode at context S, batch 1: per layer 2 * 855,638,016 (matmul params)
// + 4 * 128 * 64 * S (attention), plus the LM head 2 * 8192 * 128256.
TEST(Plans, RankFlopsAddUpToUnsharded) {
  const int64_t S = 4096;
  const StepProgram one = make("llama-3.1-70b", PlanKind::TP, 1, 1, S);
  const double hand = 80 * (2.0 * 855638016 + 4.0 * 128 * 64 * S) + 2.0 * 8192 * 128256;
  EXPECT_DOUBLE_EQ(totals(one.ranks[0]).matmul_flops, hand);
  for (PlanKind plan : {PlanKind::TP, PlanKind::TPSP, PlanKind::WeightGather})
    for (Phase phase : {Phase::Decode, Phase::Prefill})
      for (int tp : {1, 2, 4, 8}) {
        const int64_t B = 8, ctx = 512, chunk = phase == Phase::Prefill ? 64 : 0;
        const StepProgram ref = make("llama-3.1-70b", PlanKind::TP, 1, B, ctx, phase, chunk);
        const StepProgram p = make("llama-3.1-70b", plan, tp, B, ctx, phase, chunk);
        double sum = 0;
        for (const RankProgram& r : p.ranks) sum += totals(r).matmul_flops;
        EXPECT_NEAR(sum / totals(ref.ranks[0]).matmul_flops, 1.0, 1e-12)
            << plan_name(plan) << " " << phase_name(phase) << " TP=" << tp;
      }
}

// Prefill attention, one chunk of T after P cached tokens: pairs = T*P + T(T+1)/2 per head.
TEST(Plans, PrefillAttentionFlopsAreCausal) {
  const StepProgram p = make("tiny", PlanKind::TP, 1, 2, 100, Phase::Prefill, 40);
  for (const Op& op : p.ranks[0].ops)
    if (op.kind == OpKind::Attention) {
      EXPECT_EQ(op.attn.prior, 60);
      EXPECT_DOUBLE_EQ(op.flops, 4.0 * 32 * 8 * 2 * (40.0 * 60 + 40.0 * 41 / 2));
    }
}

// Weight-gather shards together cover every element of every logical weight exactly once.
TEST(WeightGatherPlan, ShardsCoverEachWeightOnce) {
  const ModelSpec m = preset_model("tiny");
  for (int tp : {1, 2, 3, 4, 8}) {
    StepConfig c;
    c.plan = PlanKind::WeightGather;
    c.tp = tp;
    c.batch = 5;
    const StepProgram p = build_program(m, c);
    std::map<std::pair<int, int>, std::vector<int>> seen;  // (layer, weight) -> counts
    for (const RankProgram& r : p.ranks)
      for (const Buffer& b : r.buffers)
        for (const WeightSegment& s : b.weight_init) {
          auto& v = seen[{s.layer, int(s.which)}];
          const GlobalShape g = logical_shape(m, s.which);
          v.resize(g.rows * g.cols);
          for (int64_t i = 0; i < s.rows; ++i)
            for (int64_t j = 0; j < s.cols; ++j) v[(s.row0 + i) * g.cols + s.col0 + j]++;
        }
    for (auto& [key, counts] : seen) {
      if (key.second == int(LogicalWeight::FinalNorm)) continue;  // replicated on purpose
      for (size_t i = 0; i < counts.size(); ++i)
        ASSERT_EQ(counts[i], 1) << "TP=" << tp << " weight " << key.second << " element " << i;
    }
  }
}

TEST(Plans, BadConfigurationsAreUsageErrors) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  StepConfig c;
  c.tp = 3;
  EXPECT_THROW(build_program(m, c), UsageError);  // 64 heads
  c.tp = 2;
  c.batch = 0;
  EXPECT_THROW(build_program(m, c), UsageError);
  c.batch = 1;
  c.layers = 81;
  EXPECT_THROW(build_program(m, c), UsageError);
  c.layers = 1;
  c.plan = PlanKind::TPSP;
  c.overlap = Overlap::Split;
  EXPECT_THROW(build_program(m, c), UsageError);
  c.plan = PlanKind::TP;
  c.phase = Phase::Prefill;
  c.context = 100;
  c.chunk = 200;
  EXPECT_THROW(build_program(m, c), UsageError);
}

// With --overlap split the all-reduce of chunk 0 is on the comm stream and the next op on the
// compute stream belongs to chunk 1: that is the overlap.
TEST(TpPlan, SplitOverlapInterleavesChunks) {
  const StepProgram p = make("tiny", PlanKind::TP, 2, 4, 64, Phase::Decode, 0, Overlap::Split);
  const auto& ops = p.ranks[0].ops;
  for (size_t i = 0; i + 1 < ops.size(); ++i)
    if (ops[i].name == "L0.c0.o_ar") {
      EXPECT_EQ(ops[i].stream, StreamId::Comm);
      EXPECT_EQ(ops[i + 1].name, "L0.c1.attn_norm");
      return;
    }
  FAIL() << "no chunked all-reduce found";
}
