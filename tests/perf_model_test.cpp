// Hand-derived checks of the performance model for Llama-3.1-70B on the built-in h100-sxm
// profile. Expected values are written out from the datasheet numbers and the model shape,
// not recomputed through the code under test.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "harness/common/error.hpp"
#include "harness/perf/collective_table.hpp"
#include "harness/perf/kv_capacity.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/op_pricing.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/perf/toy_model.hpp"

namespace tpbench {
namespace {

TEST(PerfKvCapacity, Llama70bTp4HandDerived) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile p = builtin_profile("h100-sxm");
  const KvCapacity k = kv_capacity(m, 4, p, PerfParams{});
  // Per layer per GPU: qkv 8192*(2048+2*2*128) = 20,971,520; o 16,777,216; gate/up 117,440,512;
  // down 58,720,256; norms 16,384 -> 213,925,888. x80 + 2 * 128256*8192/4 + 8192 = 17,639,415,808
  // elements -> 35,278,831,616 bytes.
  EXPECT_DOUBLE_EQ(k.weight_bytes, 35278831616.0);
  // 81559 MiB x 0.95.
  EXPECT_NEAR(k.budget_bytes, 81244769484.8, 1.0);
  // Activations, the tp plan's buffers per token: x_in, x, h, proj 4 x 8192; qkv (16 + 2*2) x 128
  // = 2560; attention output 2048; gate/up 14,336; act 7168 -> 58,880 x 2 B = 117,760 B/token x
  // 8192 = 964,689,920; logits of the one prompt row: 32,064 local + 4 x 32,064 gathered x 2 B =
  // 320,640; + fp32 sampler logits x2 for 256 rows: 262,668,288; runtime reserve 2.5 GiB =
  // 2,684,354,560.
  EXPECT_NEAR(k.reserve_bytes, 3912033408.0, 1.0);
  // KV per token per GPU: 2 x 80 layers x 2 heads x 128 x 2 B = 81,920.
  EXPECT_DOUBLE_EQ(k.kv_bytes_per_token, 81920.0);
  // (81,244,769,484.8 - 35,278,831,616 - 3,912,033,408) / 81,920 = 513,353.3
  EXPECT_EQ(k.tokens, 513353);
  EXPECT_EQ(k.max_sequences(11000), 46);
}

// The engine's configuration through --set, on the same hand-derived TP4 numbers as above.
TEST(PerfKvCapacity, EngineConfigurationThroughSet) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile p = builtin_profile("h100-sxm");
  PerfParams par;
  set_param(par, "gpu_memory_utilization", 0.9);
  set_param(par, "max_num_batched_tokens", 2048);
  set_param(par, "max_num_seqs", 128);
  EXPECT_EQ(get_param(par, "max_num_batched_tokens"), 2048.0);
  const KvCapacity k = kv_capacity(m, 4, p, par);
  // 81559 MiB x 0.9 = 76,968,728,985.6.
  EXPECT_NEAR(k.budget_bytes, 76968728985.6, 1.0);
  // Activation 117,760 B x 2048 tokens = 241,172,480 + 320,640 (the prompt row's logits) + fp32
  // logits x2 for 128 rows: 128 x 128,256 x 4 B x 2 = 131,334,144; + 2.5 GiB reserve = 3,057,181,824.
  EXPECT_NEAR(k.reserve_bytes, 3057181824.0, 1.0);
  // (76,968,728,985.6 - 35,278,831,616 - 3,057,181,824) / 81,920 = 471,590.7
  EXPECT_EQ(k.tokens, 471590);
  EXPECT_NO_THROW(set_param(par, "collective_scale", 0));  // free communication: a legitimate experiment
  for (const char* bad : {"gpu_memory_utilization=0", "gpu_memory_utilization=1.5", "max_num_seqs=0",
                          "max_num_seqs=2.5", "max_num_batched_tokens=-8", "max_num_batched_tokens=1e9"}) {
    const std::string a = bad;
    const auto eq = a.find('=');
    EXPECT_THROW(set_param(par, a.substr(0, eq), std::stod(a.substr(eq + 1))), UsageError) << a;
  }
}

TEST(PerfKvCapacity, Tp2HoldsOnlyAHandfulAndTp8ReplicatesKvHeads) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile p = builtin_profile("h100-sxm");
  // TP2 weights: 70,550,814,720 bytes per GPU... only ~6.4 GB remain: 3 sequences of 11000.
  EXPECT_EQ(kv_capacity(m, 2, p, PerfParams{}).max_sequences(11000), 3);
  // TP16 > 8 KV heads: one replicated head per GPU, the same KV bytes per token as TP8.
  EXPECT_DOUBLE_EQ(kv_capacity(m, 8, p, PerfParams{}).kv_bytes_per_token, 2.0 * 80 * 1 * 128 * 2);
  EXPECT_DOUBLE_EQ(kv_capacity(m, 16, p, PerfParams{}).kv_bytes_per_token, 2.0 * 80 * 1 * 128 * 2);
  PerfParams tight;
  tight.memory_reserve_bytes = 20e9;  // nothing left for KV at TP2
  EXPECT_EQ(kv_capacity(m, 2, p, tight).tokens, 0);
}

// One decode token of Llama-3.1-70B at TP4, op by op (plan tp, no overlap: the ops run one
// after another). HBM 0.9 x 3.35 = 3.015 TB/s; 2.2 us per compute kernel.
TEST(PerfStepCost, DecodeOneTokenTp4HandDerived) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile p = builtin_profile("h100-sxm");
  const StepCostModel r(m, 4, p, PerfParams{});
  StepShape s;
  s.decode_seqs = 1;
  s.decode_ctx_tokens = 10500;
  s.logits = 1;
  const StepCost c = r.step(s);
  // GEMM weights per layer: qkv 8192 x 2560, o 2048 x 8192, gate/up 8192 x 14336, down 7168 x
  // 8192 = 213,909,504 x 2 B = 427,819,008; x 80 + the LM head 8192 x 32,064 x 2 B = 525,336,576
  // -> 34,750,857,216 B, memory bound (m = 1), plus 321 kernels x 2.2 us.
  EXPECT_NEAR(c.gemm_memory_s, 34750857216.0 / 3.015e12, 1e-12);
  EXPECT_NEAR(c.gemm_s, 34750857216.0 / 3.015e12 + 321 * 2.2e-6, 1e-9);
  // Attention per layer: K/V rows of 2 heads x 128 x 2 x 2 B = 1024 B for 10,500 positions read
  // and 1 written, and the query and output, 2 x 16 heads x 128 x 2 B: 10,761,216 B; + 2.2 us.
  EXPECT_NEAR(c.decode_attn_s, 80 * (10761216.0 / 3.015e12 + 2.2e-6), 1e-9);
  // 161 all_reduce of 16 KiB (the embedding's and two per layer) at the table point 11.5 us, plus
  // the 256,512 B logits gather between the all_gather points 8 us (64 KiB) and 10 us (256 KiB):
  // 8 x 1.25^0.98437 = 9.965 us.
  EXPECT_NEAR(c.collective_s, 161 * 11.5e-6 + 9.965e-6, 2e-8);
  // Norms (2 x 8192 x 2 B moved + the 8192 x 2 B weight), residual adds (3 x 8192 x 2 B), SiLU
  // (3 x 7168 x 2 B): 239,616 B per layer, + the final norm's 49,152; 401 kernels x 2.2 us.
  EXPECT_NEAR(c.elementwise_s, (80 * 239616.0 + 49152.0) / 3.015e12 + 401 * 2.2e-6, 1e-9);
  // 0.5 ms per step + 80 layers x 4.4 us (rotary and KV-cache write).
  EXPECT_NEAR(c.overhead_s, 0.852e-3, 1e-12);
  EXPECT_NEAR(c.total_s, 16.2958e-3, 0.0002e-3);
  EXPECT_NEAR(c.exposed_collective_s, c.collective_s, 1e-15);  // nothing overlaps
  EXPECT_NEAR(c.weight_bytes, 34750857216.0 + 161 * 16384.0, 1.0);  // GEMM weights + norm weights
}

// The roofline keeps the terms that depend only on a step's token and logits counts: a model
// that has already seen other shapes must give, for each shape, exactly what a fresh model gives
// on its first call. (8 tokens, 1 logit) and (1 token, 8 logits) would share a cache entry under a
// careless key; a fractional token count is computed, not cached.
TEST(PerfStepCost, CachedTermsEqualAFreshComputation) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  auto shape = [](double decode, double prefill, double logits, double prefill_seqs = 1) {
    StepShape s;
    s.decode_seqs = decode;
    s.decode_ctx_tokens = decode * 1000;
    s.prefill_seqs = prefill > 0 ? prefill_seqs : 0;
    s.prefill_tokens = prefill;
    s.prefill_attn_pairs = prefill * prefill / 2;
    s.logits = logits;
    return s;
  };
  // Pairs whose doubles hash alike under a multiply-and-xor of their bits ((1, 1) and (4, 4);
  // (23, 23) and (1072, 222)), and steps that differ only in how many prefills share the tokens.
  const std::vector<StepShape> shapes = {shape(8, 0, 1),    shape(1, 0, 8),       shape(0, 8, 1),   shape(1, 0, 8),
                                         shape(8, 0, 1),    shape(2.5, 0, 1),     shape(8, 0, 1),   shape(1, 0, 1),
                                         shape(4, 0, 4),    shape(23, 0, 23),     shape(0, 1072, 222),
                                         shape(0, 3, 1, 1), shape(0, 3, 2, 2),    shape(0, 1979, 1), shape(0, 3958, 0)};
  for (const StepScheme scheme : {StepScheme{}, StepScheme{PlanKind::WeightGather, Overlap::Streams, 2},
                                  StepScheme{PlanKind::TP, Overlap::Split, 2}}) {
    const StepCostModel warm(m, 4, prof, PerfParams{}, scheme);
    for (const StepShape& s : shapes) {
      const StepCost a = warm.step(s);
      const StepCost b = StepCostModel(m, 4, prof, PerfParams{}, scheme).step(s);
      EXPECT_EQ(a.total_s, b.total_s) << plan_name(scheme.plan) << " " << s.decode_seqs << " " << s.prefill_tokens
                                      << " " << s.logits << " " << s.prefill_seqs;
      EXPECT_EQ(a.collective_s, b.collective_s);
      EXPECT_EQ(a.gemm_compute_s, b.gemm_compute_s);
    }
  }
  const StepCostModel warm(m, 4, prof, PerfParams{});
  // The two shapes a careless key would confuse really differ.
  EXPECT_NE(warm.step(shape(8, 0, 1)).collective_s, warm.step(shape(1, 0, 8)).collective_s);
}

TEST(PerfStepCost, PerTpStepOverheadAppliesToItsTpOnly) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile p = builtin_profile("h100-sxm");
  PerfParams par;
  set_param(par, "step_overhead_tp8_s", 0.0125);
  EXPECT_DOUBLE_EQ(get_param(par, "step_overhead_tp8_s"), 0.0125);
  EXPECT_DOUBLE_EQ(get_param(par, "step_overhead_tp4_s"), 0.0);  // unset: no extra cost
  StepShape s;
  s.decode_seqs = 4;
  s.decode_ctx_tokens = 4 * 10500.0;
  s.logits = 4;
  // The profile's 0.5 ms per step + 80 layers x 4.4 us = 0.852 ms, plus 12.5 ms for TP8 alone.
  EXPECT_NEAR(StepCostModel(m, 8, p, par).step(s).overhead_s, 0.852e-3 + 12.5e-3, 1e-12);
  EXPECT_NEAR(StepCostModel(m, 4, p, par).step(s).overhead_s, 0.852e-3, 1e-12);
  const double base8 = StepCostModel(m, 8, p, PerfParams{}).step(s).total_s;
  EXPECT_NEAR(StepCostModel(m, 8, p, par).step(s).total_s - base8, 12.5e-3, 1e-12);
  // Malformed names and values are usage errors, not silently ignored.
  EXPECT_THROW(set_param(par, "step_overhead_tpX_s", 0.01), UsageError);
  EXPECT_THROW(set_param(par, "step_overhead_tp_s", 0.01), UsageError);
  EXPECT_THROW(set_param(par, "step_overhead_tp8_s", -0.01), UsageError);
  EXPECT_THROW(set_param(par, "step_overhead_tp8_s", 11.0), UsageError);
}

// A per-TP step-time scale stretches every part of that TP's step (the stack's per-step cost is
// added after, unscaled) and leaves other TPs alone.
TEST(PerfStepCost, PerTpStepTimeScaleStretchesItsTpOnly) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile p = builtin_profile("h100-sxm");
  PerfParams par;
  set_param(par, "step_time_scale_tp8", 1.5);
  set_param(par, "step_overhead_tp8_s", 0.0125);
  EXPECT_DOUBLE_EQ(get_param(par, "step_time_scale_tp8"), 1.5);
  EXPECT_DOUBLE_EQ(get_param(par, "step_time_scale_tp4"), 1.0);  // unset: the hardware's speed
  StepShape s;
  s.decode_seqs = 1;
  s.decode_ctx_tokens = 10000.0;
  s.logits = 1;
  const StepCost a = StepCostModel(m, 8, p, PerfParams{}).step(s), b = StepCostModel(m, 8, p, par).step(s);
  // GEMM weights streamed per GPU at TP8: per layer qkv 8192*(1024+2*128) = 10,485,760, o
  // 8,388,608, gate/up 58,720,256, down 29,360,128 -> 106,954,752; x80 + LM head 128256*8192/8 =
  // 8,687,714,304 elements x 2 B = 17,375,428,608 B over 3.015 TB/s = 5.763 ms, x 1.5 = 8.644 ms.
  EXPECT_NEAR(b.gemm_memory_s, 1.5 * a.gemm_memory_s, 1e-15);
  EXPECT_NEAR(b.gemm_memory_s, 1.5 * 17375428608.0 / 3.015e12, 1e-9);
  // The profile's 0.852 ms of per-step and per-layer overhead is stretched; the 12.5 ms is not.
  EXPECT_NEAR(b.overhead_s, 1.5 * 0.852e-3 + 12.5e-3, 1e-12);
  EXPECT_NEAR(b.total_s, 1.5 * a.total_s + 12.5e-3, 1e-12);
  EXPECT_NEAR(b.collective_s, 1.5 * a.collective_s, 1e-15);
  EXPECT_NEAR(b.decode_attn_s, 1.5 * a.decode_attn_s, 1e-15);
  // A mixed step (a prefill chunk beside the decode): its compute-bound GEMMs and prefill
  // attention stretch too.
  s.prefill_tokens = 4096;
  s.prefill_attn_pairs = 4096.0 * 4097 / 2;
  s.logits += 1;
  const StepCost c = StepCostModel(m, 8, p, PerfParams{}).step(s), d = StepCostModel(m, 8, p, par).step(s);
  ASSERT_GT(c.gemm_compute_s, c.gemm_memory_s);  // compute-bound at 4097 tokens
  ASSERT_GT(c.prefill_attn_s, 0);
  EXPECT_NEAR(d.gemm_compute_s, 1.5 * c.gemm_compute_s, 1e-15);
  EXPECT_NEAR(d.gemm_s, 1.5 * c.gemm_s, 1e-15);
  EXPECT_NEAR(d.prefill_attn_s, 1.5 * c.prefill_attn_s, 1e-15);
  EXPECT_NEAR(d.total_s, 1.5 * c.total_s + 12.5e-3, 1e-12);
  EXPECT_EQ(StepCostModel(m, 4, p, par).step(s).total_s, StepCostModel(m, 4, p, PerfParams{}).step(s).total_s);
  // A scale must be positive and at most 100; malformed names are usage errors.
  EXPECT_THROW(set_param(par, "step_time_scale_tp8", 0.0), UsageError);
  EXPECT_THROW(set_param(par, "step_time_scale_tp8", 101.0), UsageError);
  EXPECT_THROW(set_param(par, "step_time_scale_tp", 1.2), UsageError);
  EXPECT_THROW(set_param(par, "step_time_scale_tp08", 1.2), UsageError);
  EXPECT_THROW(set_param(par, "step_time_scale_tp8_s", 1.2), UsageError);
  EXPECT_EQ(per_tp_param_of("step_time_scale_tp8"), 8);
  EXPECT_EQ(per_tp_param_of("step_overhead_tp2_s"), 2);
  EXPECT_EQ(per_tp_param_of("step_overhead_s"), 0);
}

TEST(PerfStepCost, PrefillChunkTp8IsComputeBound) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile p = builtin_profile("h100-sxm");
  const StepCostModel r(m, 8, p, PerfParams{});
  StepShape s;
  s.prefill_seqs = 1;
  s.prefill_tokens = 8192;
  s.prefill_attn_pairs = 8192.0 * 8193.0 / 2.0;
  s.logits = 1;
  const StepCost c = r.step(s);
  // Layer GEMMs: 2 x 8192 tokens x 106,954,752 weights x 80 = 1.4018773e14 FLOP at 0.7 x 989.4
  // TFLOP/s (efficiency 1 at m >= 1024) = 202.414 ms; the LM head's one row streams 8192 x 16,032
  // x 2 B = 262,668,288 B (87.12 us) and computes 2 x 1 x 8192 x 16,032 = 262,668,288 FLOP at
  // efficiency 0.25 (m = 1); 321 kernels x 2.2 us.
  const double lm_head_compute_s = 2.0 * 1 * 8192 * 16032 / (692.58e12 * 0.25);
  EXPECT_NEAR(c.gemm_compute_s, 140187732541440.0 / 692.58e12 + lm_head_compute_s, 2e-6);
  EXPECT_NEAR(c.gemm_s, 140187732541440.0 / 692.58e12 + 262668288.0 / 3.015e12 + 321 * 2.2e-6, 1e-7);
  EXPECT_GT(c.gemm_compute_s, 10 * c.gemm_memory_s);
  // Attention: 4 x 128 x 8 heads x 33,558,528 pairs x 80 layers at 0.5 x 989.4 TFLOP/s = 22.2285 ms,
  // + 80 kernels x 2.2 us.
  EXPECT_NEAR(c.prefill_attn_s, 4.0 * 128 * 8 * 33558528.0 * 80 / (0.5 * 989.4e12) + 80 * 2.2e-6, 1e-7);
  // 161 all_reduce of 128 MiB between the 64 MiB (300 us) and 256 MiB (1000 us) points: sqrt(300
  // x 1000) = 547.72 us each; the 256,512 B logits gather at TP8: 9.6 x 1.25^0.98437 = 11.958 us.
  EXPECT_NEAR(c.collective_s, 161 * 547.723e-6 + 11.958e-6, 2e-7);
  // Elementwise: per layer norms 2 x (2 x 8192 x 8192 x 2 B + 16 KiB), residual adds 2 x 3 x 8192
  // x 8192 x 2 B, SiLU 3 x 8192 x 3584 x 2 B = 1,518,370,816 B; the final norm 268,451,840 B;
  // 401 kernels.
  EXPECT_NEAR(c.elementwise_s, (80 * 1518370816.0 + 268451840.0) / 3.015e12 + 401 * 2.2e-6, 1e-7);
  EXPECT_NEAR(c.total_s, c.gemm_s + c.prefill_attn_s + c.collective_s + c.elementwise_s + 0.852e-3, 1e-12);
}

TEST(PerfCollectiveTable, LogLogInterpolationAndExtrapolation) {
  const CollectiveCurve c = {{1024, 10e-6}, {4096, 40e-6}, {16384, 40e-6}};
  EXPECT_DOUBLE_EQ(interpolate_loglog(c, 512), 10e-6);            // latency floor
  EXPECT_NEAR(interpolate_loglog(c, 2048), 20e-6, 1e-12);         // geometric midpoint
  EXPECT_NEAR(interpolate_loglog(c, 32768), 80e-6, 1e-12);        // linear in bytes beyond
  CollectiveTable t;
  t.set_curve(CollectiveKind::AllReduce, 4, c);
  EXPECT_DOUBLE_EQ(t.time_s(CollectiveKind::AllReduce, 1, 1e6), 0.0);
  EXPECT_NEAR(t.time_s(CollectiveKind::AllReduce, 2, 2048), 20e-6, 1e-12);  // nearest larger group
  EXPECT_THROW(t.set_curve(CollectiveKind::AllGather, 4, {{1024, -1.0}}), UsageError);
  EXPECT_THROW(t.time_s(CollectiveKind::AllGather, 4, 1024), UsageError);
}

TEST(PerfProfile, BuiltinsCiteSourcesAndDefaultTablesBeatAlphaBeta) {
  const SystemProfile h = builtin_profile("h100-sxm");
  EXPECT_DOUBLE_EQ(h.peak_hbm_bandwidth, 3.35e12);
  EXPECT_DOUBLE_EQ(builtin_profile("h200-sxm").peak_hbm_bandwidth, 4.8e12);
  for (const char* k : {"memory_bytes", "hbm_bandwidth", "matmul_flops", "collectives"}) EXPECT_TRUE(h.sources.count(k)) << k;
  // An alpha-beta line (latency 12 us, 480 GB/s busbw) is 35-55 % optimistic at 1-16 MiB on
  // 8 GPUs (the figures cited in default_profiles.cpp). The table must be that much slower than the line.
  for (double mib : {1.0, 4.0, 16.0}) {
    const double b = mib * 1048576.0;
    const double line = 12e-6 + b * 1.75 / 480e9;
    const double table = h.collectives.time_s(CollectiveKind::AllReduce, 8, b);
    EXPECT_GT(1.0 - line / table, 0.30) << mib;
  }
  EXPECT_THROW(builtin_profile("a100"), UsageError);
  EXPECT_THROW(resolve_profile("no-such-profile"), UsageError);
}

TEST(PerfProfile, JsonRoundTripAndMalformedFiles) {
  const SystemProfile h = builtin_profile("h100-sxm");
  const SystemProfile back = profile_from_json(profile_to_json(h), "test");
  EXPECT_DOUBLE_EQ(back.hbm_bandwidth, h.hbm_bandwidth);
  EXPECT_DOUBLE_EQ(back.collectives.time_s(CollectiveKind::AllReduce, 8, 3e6),
                   h.collectives.time_s(CollectiveKind::AllReduce, 8, 3e6));
  nlohmann::json j = profile_to_json(h);
  j.erase("hbm_bandwidth");
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);
  j = profile_to_json(h);
  j["collectives"]["all_reduce"]["two"] = nlohmann::json::array({{1, 1}});
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);
  j = profile_to_json(h);
  j["collectives"] = {{"all_gather", {{"2", {{1024, 1e-5}}}}}};
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);  // no all_reduce table
}

// GEMM efficiency: log-log between table points (a memory-bound GEMM's rate grows as m, so a
// table 0.01 at m=1 and 0.04 at m=4 gives 0.02 at m=2 exactly), per-TP tables chosen by TP and
// interpolated log-log between TPs, the pooled table without a TP.
TEST(PerfProfile, GemmFractionLogLogAndPerTp) {
  SystemProfile p;
  p.gemm_efficiency = {{1, 0.01}, {4, 0.04}};
  EXPECT_NEAR(p.gemm_fraction(2), 0.02, 1e-12);
  EXPECT_NEAR(p.gemm_fraction(0.5), 0.01, 1e-12);  // clamped at the ends
  EXPECT_NEAR(p.gemm_fraction(9), 0.04, 1e-12);
  p.gemm_efficiency_by_tp[1] = {{1, 0.016}, {4, 0.064}};
  p.gemm_efficiency_by_tp[4] = {{1, 0.004}, {4, 0.016}};
  EXPECT_NEAR(p.gemm_fraction(2, 1), 0.032, 1e-12);
  EXPECT_NEAR(p.gemm_fraction(2, 4), 0.008, 1e-12);
  EXPECT_NEAR(p.gemm_fraction(1, 2), 0.008, 1e-12);  // halfway in log TP: sqrt(0.016 x 0.004)
  EXPECT_NEAR(p.gemm_fraction(1, 8), 0.004, 1e-12);  // beyond the last TP: the last table
  EXPECT_NEAR(p.gemm_fraction(2), 0.02, 1e-12);      // no TP: the pooled table
}

// The decode-attention efficiency scales the KV read time, and a profile file carries it and
// the per-TP tables (malformed values refused with one line).
TEST(PerfProfile, DecodeAttentionEfficiencyAndPerTpTablesInJson) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  SystemProfile p = builtin_profile("h100-sxm");
  p.decode_attention_efficiency = 0.8;
  StepShape s;
  s.decode_seqs = 1;
  s.decode_ctx_tokens = 10500;
  s.logits = 1;
  // 10,761,216 B per layer at TP4 (see DecodeOneTokenTp4HandDerived) over 0.8 x 3.015 TB/s.
  EXPECT_NEAR(StepCostModel(m, 4, p, PerfParams{}).step(s).decode_attn_s, 80 * (10761216.0 / (0.8 * 3.015e12) + 2.2e-6),
              1e-9);
  p.gemm_efficiency_by_tp[8] = {{1, 0.002}, {64, 0.1}};
  const SystemProfile back = profile_from_json(profile_to_json(p), "test");
  EXPECT_DOUBLE_EQ(back.decode_attention_efficiency, 0.8);
  EXPECT_EQ(back.gemm_efficiency_by_tp, p.gemm_efficiency_by_tp);
  nlohmann::json j = profile_to_json(p);
  j["gemm_efficiency_by_tp"]["0"] = nlohmann::json::array({{1, 0.1}});
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);
  j = profile_to_json(p);
  j["gemm_efficiency_by_tp"]["8"] = nlohmann::json::array({{1, 2.0}});
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);
  j = profile_to_json(p);
  j["gemm_efficiency_by_tp"]["4"] = nlohmann::json::array();  // empty: would mean no loss at TP4
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);
  j = profile_to_json(p);
  j["gemm_efficiency_by_tp"]["08"] = nlohmann::json::array({{1, 0.1}});  // would alias "8"
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);
  j = profile_to_json(p);
  j["gemm_efficiency_by_tp"] = nlohmann::json::array();
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);
  j = profile_to_json(p);
  j["decode_attention_efficiency"] = 0;
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);
}

// The cost model asks for its own TP's table: TP8's compute term uses TP8's efficiency, TP1's
// TP1's (a prefill chunk of 4096 tokens: every GEMM is compute bound at these efficiencies).
TEST(PerfStepCost, UsesItsTpsGemmEfficiency) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  SystemProfile p = builtin_profile("h100-sxm");
  p.gemm_efficiency_by_tp[1] = {{1, 0.5}};
  p.gemm_efficiency_by_tp[8] = {{1, 0.1}};
  StepShape s;
  s.prefill_tokens = 4096;
  s.logits = 1;
  const StepCost c8 = StepCostModel(m, 8, p, PerfParams{}).step(s);
  const StepCost c1 = StepCostModel(m, 1, p, PerfParams{}).step(s);
  // Layer weights per GPU 106,954,752 at TP8, 855,638,016 at TP1; LM head 8192 x 16,032 or x 128,256.
  const double f8 = 2.0 * (4096.0 * 106954752.0 * 80 + 8192.0 * 16032);
  const double f1 = 2.0 * (4096.0 * 855638016.0 * 80 + 8192.0 * 128256);
  EXPECT_NEAR(c8.gemm_compute_s, f8 / (0.1 * p.matmul_flops), c8.gemm_compute_s * 1e-12);
  EXPECT_NEAR(c1.gemm_compute_s, f1 / (0.5 * p.matmul_flops), c1.gemm_compute_s * 1e-12);
}

// A calibrated per-op table replaces the roofline for its (n, k): linear in m between measured
// points, the smallest point's time below them; other shapes keep the roofline.
TEST(PerfStepCost, MeasuredGemmTableReplacesTheRooflineForItsShape) {
  SystemProfile p = builtin_profile("h100-sxm");
  p.gemm_times.push_back({2560, 8192, {{1, 20e-6}, {64, 40e-6}}});
  const PerfParams par;
  const PricingContext ctx{&p, &par, 4, 2};
  auto gemm = [](int64_t m, int64_t n, int64_t k) {
    Op op;
    op.kind = OpKind::Gemm;
    op.a = View{0, 0, m, k, k};
    op.w = View{1, 0, k, n, n};
    op.out = View{2, 0, m, n, n};
    set_op_cost(op, 2);
    return op;
  };
  const OpPrice mid = price_op(gemm(32, 2560, 8192), {}, ctx);
  EXPECT_EQ(mid.bound, OpBound::Measured);
  EXPECT_NEAR(mid.seconds, 20e-6 + 20e-6 * 31.0 / 63.0, 1e-15);
  EXPECT_NEAR(price_op(gemm(1, 2560, 8192), {}, ctx).seconds, 20e-6, 1e-15);
  // The same m on another shape: weights 8192 x 1280 x 2 B over 3.015 TB/s + 2.2 us.
  const OpPrice other = price_op(gemm(1, 1280, 8192), {}, ctx);
  EXPECT_EQ(other.bound, OpBound::Memory);
  EXPECT_NEAR(other.seconds, 8192.0 * 1280 * 2 / 3.015e12 + 2.2e-6, 1e-12);
  // Beyond the largest measured m a flat table would undercut the FLOPs: the roofline bounds it
  // (2 x 8192 x 2560 x 8192 FLOP at 692.58 TFLOP/s + 2.2 us).
  SystemProfile flat = builtin_profile("h100-sxm");
  flat.gemm_times.push_back({2560, 8192, {{1, 20e-6}, {64, 20e-6}}});
  const PricingContext flat_ctx{&flat, &par, 4, 2};
  EXPECT_NEAR(price_op(gemm(8192, 2560, 8192), {}, flat_ctx).seconds, 2.0 * 8192 * 2560 * 8192 / 692.58e12 + 2.2e-6,
              1e-9);
  // The table travels in the profile file.
  const SystemProfile back = profile_from_json(profile_to_json(p), "test");
  ASSERT_EQ(back.gemm_times.size(), 1u);
  EXPECT_EQ(back.gemm_times[0].points, p.gemm_times[0].points);
  nlohmann::json j = profile_to_json(p);
  j["gemm_times"][0]["points"] = nlohmann::json::array({{0, 1e-5}, {4, 2e-5}});
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);
  j["gemm_times"][0]["points"] = nlohmann::json::array({{1, 1e-5}});  // one point: no line
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);
  j = profile_to_json(p);
  j["gemm_times"].push_back(j["gemm_times"][0]);  // the same shape twice
  EXPECT_THROW(profile_from_json(j, "t"), UsageError);
}

TEST(PerfToyModel, FitRecoversTauAndAlphaAndFlagsFailures) {
  const ToyModel truth{0.02, 3.0};
  std::vector<ToyPoint> pts;
  for (double c : {1.0, 2.0, 4.0, 8.0, 32.0, 64.0}) pts.push_back({c, truth.per_gpu(c, 4)});
  const ToyFit f = fit_toy(pts, 4);
  EXPECT_NEAR(f.model.tau, 0.02, 0.02 * 0.01);
  EXPECT_NEAR(f.model.alpha, 3.0, 0.03);
  EXPECT_EQ(f.failures(0.05), "none");
  // A curve that falls after its peak: the flat BC segment cannot follow it.
  pts.push_back({256.0, truth.per_gpu(256, 4) * 0.5});
  EXPECT_NE(fit_toy(pts, 4).failures(0.2), "none");
  // Hand check of the segments: C=2 on AB = 2/(0.02*4) = 25; C=64 on BC = 3/0.02 = 150.
  EXPECT_DOUBLE_EQ(truth.per_gpu(2, 4), 25.0);
  EXPECT_DOUBLE_EQ(truth.per_gpu(64, 4), 150.0);
  EXPECT_DOUBLE_EQ(truth.per_user(64, 4), 12.0 / (0.02 * 64));
}

// A curve that never reaches its knee determines tau only (alpha is then at least the last
// concurrency / N); one that starts past its knee determines the plateau alpha / tau only. The
// fit must say which, and report the bound, not the arbitrary alpha its scan stopped at.
TEST(PerfToyModel, KneeOutsideTheDataIsABound) {
  const ToyModel truth{0.02, 3.0};  // N = 4: knee at C = 12, plateau 150 tok/s/GPU
  const ToyFit ab = fit_toy({{1, truth.per_gpu(1, 4)}, {4, truth.per_gpu(4, 4)}}, 4);
  EXPECT_EQ(ab.knee, ToyKnee::AboveData);
  EXPECT_NEAR(ab.model.tau, 0.02, 0.02 * 1e-3);
  EXPECT_DOUBLE_EQ(ab.model.alpha, 1.0);  // 4 / 4: the least knee that fits
  EXPECT_EQ(ab.failures(0.01), "none");
  const ToyFit bc = fit_toy({{16, 150}, {32, 150}, {64, 150}}, 4);
  EXPECT_EQ(bc.knee, ToyKnee::BelowData);
  EXPECT_NEAR(bc.model.alpha / bc.model.tau, 150.0, 150.0 * 1e-3);
  EXPECT_DOUBLE_EQ(bc.model.alpha, 4.0);  // 16 / 4: the greatest knee that fits
  for (const auto& r : bc.residuals) EXPECT_FALSE(r.on_ab) << r.concurrency;
  const ToyFit within = fit_toy({{1, truth.per_gpu(1, 4)}, {4, truth.per_gpu(4, 4)}, {64, truth.per_gpu(64, 4)}}, 4);
  EXPECT_EQ(within.knee, ToyKnee::Within);
}

}  // namespace
}  // namespace tpbench
