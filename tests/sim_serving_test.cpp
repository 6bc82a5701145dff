// Serving simulator invariants: Little's law, the C=1 latency identity, KV-limited admission,
// replica splitting, layout parsing, and that every point of the llm-d grid runs.
#include <gtest/gtest.h>

#include "harness/common/error.hpp"
#include "harness/explain/detail/explain_format.hpp"
#include "harness/perf/kv_capacity.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/sim/grid.hpp"
#include "harness/sim/serving_sim.hpp"

namespace tpbench {
namespace {

ServingPoint run(const std::string& layout, int c, int prompts_per_user = 10, PerfParams par = {}) {
  ServingConfig cfg;
  cfg.concurrency = c;
  cfg.prompts_per_user = prompts_per_user;
  return simulate_serving(parse_layout(layout), preset_model("llama-3.1-70b"), builtin_profile("h100-sxm"), par, cfg);
}

// Closed loop of C users: C = request rate x E2E, with the rate taken over the whole run as the
// benchmark does. The run's end is a drain (users finish their last prompt at different times,
// fewer than C in the system), which pulls the product below C by the drain's share of the
// run: at the 10 prompts per user that share is small when nothing queues (1R-TP4 at
// C=8 and 32), but about 5 % where requests queue for KV (1R-TP2: 3 slots for 32 users), so
// queue-bound layouts are checked over 100 prompts per user, where the drain is short.
TEST(SimServing, LittlesLawHoldsInSteadyState) {
  struct Case { const char* layout; int c, prompts; };
  for (const Case k : {Case{"1R-TP4", 8, 10}, Case{"1R-TP4", 32, 10}, Case{"1R-TP4", 32, 100},
                       Case{"1R-TP2", 32, 100}, Case{"2P-TP4 1D-TP8", 32, 100},
                       // Replicas behind one router, C not a multiple of their number: users are
                       // not pinned, so no replica drains early while another still works.
                       Case{"7R-TP2", 64, 100}, Case{"3R-TP4", 64, 10}, Case{"2R-TP4", 70, 10}}) {
    const ServingPoint p = run(k.layout, k.c, k.prompts);
    const double rate = double(p.requests) / p.duration_s;
    EXPECT_NEAR(rate * p.e2e_s / k.c, 1.0, 0.02) << k.layout << " C=" << k.c << " prompts/user " << k.prompts;
  }
}

TEST(SimServing, OnDemandKvPreemptsBeyondCapacityAndKeepsLittlesLaw) {
  PerfParams od;
  od.kv_on_demand = true;
  // TP4 holds 46 sequences of 11000 tokens but 51 prompts of 10000: at C=128 it admits more
  // than fit, preempts as they grow, and recomputes; every request still ends with OSL tokens.
  const ServingPoint p = run("1R-TP4", 128, 20, od);
  EXPECT_GT(p.main.stats.preemptions, 0);
  EXPECT_GE(p.main.stats.recomputed_tokens, 10000.0 * p.main.stats.preemptions);
  EXPECT_NEAR(double(p.requests) / p.duration_s * p.e2e_s / 128.0, 1.0, 0.02);
  const double batch = p.main.stats.decode_seq_s / p.main.stats.busy_s;
  EXPECT_GT(batch, double(p.main.kv_max_sequences));  // on-demand runs more than reserve could
  // Within capacity, nothing is preempted: TP8 holds 132 full sequences.
  EXPECT_EQ(run("1R-TP8", 64, 10, od).main.stats.preemptions, 0);
}

// Cost-model time of the two prefill chunks of a 10000-token prompt under an 8192-token budget:
// 8192 tokens from position 0, then 1808 from 8192 (which runs the LM head for the first token).
double prefill_steps_s(const StepCostModel& roof) {
  StepShape c1, c2;
  c1.prefill_tokens = 8192;
  c1.prefill_attn_pairs = 0.5 * 8192.0 * 8193.0;
  c2.prefill_tokens = 1808;
  c2.prefill_attn_pairs = 1808.0 * 8192.0 + 0.5 * 1808.0 * 1809.0;
  c2.logits = 1;
  return roof.step(c1).total_s + roof.step(c2).total_s;
}

// Cost-model time of `n` decode steps of one sequence at contexts first, first + 1, ...
double decode_steps_s(const StepCostModel& roof, int first, int n) {
  double t = 0;
  for (int g = 0; g < n; ++g) {
    StepShape d;
    d.decode_seqs = 1;
    d.decode_ctx_tokens = double(first + g);
    d.logits = 1;
    t += roof.step(d).total_s;
  }
  return t;
}

// One user on 1R-TP4, ISL 10000, OSL 1000, token budget 8192: the simulator's clock must add up
// to the step times of the work done, taken straight from the cost model: TTFT = the two prefill
// chunks (8192 tokens from position 0, then 1808 from 8192, which samples the first token);
// then 999 decode steps of one sequence at contexts 10001..10999. So E2E = TTFT + 999 x TPOT
// with TPOT the mean of those steps (the identity of the issue), checked against sums the
// simulator did not compute.
TEST(SimServing, ConcurrencyOneLatencyIdentity) {
  const ServingPoint p = run("1R-TP4", 1);
  const StepCostModel roof(preset_model("llama-3.1-70b"), 4, builtin_profile("h100-sxm"), PerfParams{});
  const double ttft = prefill_steps_s(roof), decode = decode_steps_s(roof, 10001, 999);
  EXPECT_NEAR(p.ttft_s, ttft, 1e-9 * ttft);
  EXPECT_NEAR(p.tpot_s, decode / 999.0, 1e-6 * p.tpot_s);
  EXPECT_NEAR(p.e2e_s, ttft + decode, 1e-6 * p.e2e_s);
  EXPECT_NEAR(p.e2e_s, p.ttft_s + 999.0 * p.tpot_s, 1e-9 * p.e2e_s);
  // One user: nothing waits, and output/C is OSL over E2E.
  EXPECT_NEAR(p.queue_s, 0.0, 1e-12);
  EXPECT_NEAR(p.per_user_out_div_conc, 1000.0 / p.e2e_s, 1e-6 * p.per_user_out_div_conc);
  // Decode steps near the one-token step at context 10,500 (16.30 ms hand-derived in
  // perf_model_test).
  EXPECT_NEAR(p.tpot_s, 16.30e-3, 0.3e-3);
}

TEST(SimServing, AdmissionIsLimitedByKvCapacity) {
  const ServingPoint p = run("1R-TP2", 32);
  ASSERT_EQ(p.main.kv_max_sequences, 3);
  const double batch = p.main.stats.decode_seq_s / p.main.stats.busy_s;
  EXPECT_LE(batch, 3.0 + 1e-9);
  EXPECT_GT(p.main.stats.kv_blocked_s / p.main.stats.busy_s, 0.5);
  EXPECT_GT(p.ttft_s, 100.0);  // 29 users queue behind 3 running sequences
}

TEST(SimServing, ReplicasSplitConcurrency) {
  const ServingPoint one = run("1R-TP4", 8), two = run("2R-TP4", 16);
  EXPECT_NEAR(two.tokens_per_s_per_gpu / one.tokens_per_s_per_gpu, 1.0, 0.01);
  EXPECT_NEAR(two.tpot_s / one.tpot_s, 1.0, 0.01);
  EXPECT_EQ(two.num_gpus, 8);
  // The batch the tables print is per instance: two replicas at 16 run 8 each, like one at 8
  // (about 7.6 with prefills in between), not half of that.
  EXPECT_NEAR(detail::mean_decode_batch(two) / detail::mean_decode_batch(one), 1.0, 0.02);
  EXPECT_GT(detail::mean_decode_batch(two), 7.0);
}

// One more user on replicas behind a load-aware router adds work without unbalancing them:
// tok/s/GPU never drops by more than a finite run's noise (up to 3 % on KV-bound TP2, where the
// run's end depends on how the last queued prompts fill the slots). With users pinned to
// replicas, 7R-TP2 lost 10 % from C = 63 to 64: one replica with 10 users ran on while six with 9
// had finished.
TEST(SimServing, OneMoreUserNeverUnbalancesReplicas) {
  struct Case { const char* layout; int c; };
  for (const Case k : {Case{"7R-TP2", 63}, Case{"4R-TP2", 69}, Case{"3R-TP4", 127}, Case{"3R-TP4", 64}}) {
    const double base = run(k.layout, k.c).tokens_per_s_per_gpu;
    const double more = run(k.layout, k.c + 1).tokens_per_s_per_gpu;
    EXPECT_GT(more, 0.95 * base) << k.layout << " C=" << k.c << " -> " << k.c + 1;
  }
}

TEST(SimServing, PdCountsAllGpusAndPaysKvTransfer) {
  const ServingPoint p = run("1P-TP8 1D-TP8", 1);
  EXPECT_EQ(p.num_gpus, 16);
  // 2 x 80 x 8 x 128 x 2 B x 10,000 = 3.2768 GB over 8 ranks x 50 GB/s + 100 us = 8.292 ms.
  EXPECT_NEAR(p.kv_transfer_s, 3.2768e9 / 400e9 + 100e-6, 1e-9);
  EXPECT_GT(p.ttft_s, p.kv_transfer_s);
  EXPECT_NEAR(p.tokens_per_s_per_gpu, p.output_tok_s / 16, 1e-12);
  // Between a TP8 and a TP4 instance, in either direction, the 4 ranks' links carry it all.
  for (const char* mixed : {"1P-TP8 1D-TP4", "1P-TP4 1D-TP8"})
    EXPECT_NEAR(run(mixed, 1).kv_transfer_s, 3.2768e9 / 200e9 + 100e-6, 1e-9) << mixed;
}

// One user on 1P-TP8 1D-TP8: the prompt is prefilled in two chunks on the prefill instance (the
// second runs the LM head), the decode instance admits it and pulls its KV (8.292 ms), then
// decodes 1000 tokens at contexts 10000..10999. Nothing else happens on the decode instance, so
// those 1000 identical steps are one batched event (engine.hpp) whose length is the sum of their
// roofline times, and the first token comes after the first of them alone. Step times straight
// from the roofline; the simulator's clock must add up to them.
TEST(SimServing, PdConcurrencyOneAddsUpPrefillPullAndDecode) {
  const ServingPoint p = run("1P-TP8 1D-TP8", 1);
  const StepCostModel roof(preset_model("llama-3.1-70b"), 8, builtin_profile("h100-sxm"), PerfParams{});
  const double decode = decode_steps_s(roof, 10000, 1000);
  const double before_decode = prefill_steps_s(roof) + p.kv_transfer_s;
  EXPECT_NEAR(p.kv_transfer_s, 3.2768e9 / 400e9 + 100e-6, 1e-9);
  // The first token: the decode instance's first step alone, at context 10000.
  EXPECT_NEAR(p.ttft_s, before_decode + decode_steps_s(roof, 10000, 1), 1e-9 * p.ttft_s);
  EXPECT_NEAR(p.e2e_s, before_decode + decode, 1e-6 * p.e2e_s);
  EXPECT_NEAR(p.queue_s, 0.0, 1e-12);
}

// Two users with one prompt each over a slow KV link (0.5 GB/s per rank).
ServingPoint two_prompts_slow_link(const char* layout, double link_bytes_per_s = 0.5e9) {
  ServingConfig cfg;
  cfg.concurrency = 2;
  cfg.prompts_per_user = 1;
  cfg.kv_link_bandwidth = link_bytes_per_s;
  return simulate_serving(parse_layout(layout), preset_model("llama-3.1-70b"), builtin_profile("h100-sxm"),
                          PerfParams{}, cfg);
}

// Two users, one prompt each, on 1P-TP8 1D-TP8 over a slow link (0.5 GB/s per rank: 8 ranks move
// a 10000-token prompt's 3.2768 GB in 0.8192 s). The prefill instance runs request 0's 8192-token
// chunk, then its last 1808 tokens with request 1's first 6384 (request 0 done at t0), then request
// 1's last 3616 tokens (S3; done at t0 + S3). Request 0's pull holds both links from t0 to
// t0 + 0.8192, so request 1's pull waits 0.8192 - S3 for them: the mean wait over the two is half
// that. S3 is the roofline's own step time for that chunk.
TEST(SimServing, PdPullsShareTheirLinks) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  const ServingPoint p = two_prompts_slow_link("1P-TP8 1D-TP8");
  const double bytes_s = 3.2768e9 / (0.5e9 * 8);
  EXPECT_NEAR(p.kv_transfer_s, bytes_s + prof.kv_link_latency_s, 1e-12);
  StepShape last;
  last.prefill_tokens = 3616;
  last.prefill_attn_pairs = 3616.0 * 6384.0 + 0.5 * 3616.0 * 3617.0;
  last.logits = 1;
  const double s3 = StepCostModel(m, 8, prof, PerfParams{}).step(last).total_s;
  ASSERT_LT(s3, bytes_s);  // the second pull does find the links busy
  EXPECT_NEAR(p.kv_pull_wait_s, (bytes_s - s3) / 2, 1e-9);
  // On a fast link the same two pulls never meet.
  EXPECT_EQ(two_prompts_slow_link("1P-TP8 1D-TP8", 50e9).kv_pull_wait_s, 0.0);
}

// Two users, one prompt each, on two prefill instances, both prompts done at the same moment and
// pulled at once over a slow link. A TP8 decode instance takes two TP4 pulls side by side (each
// on 4 of its 8 NICs): nobody waits. Two TP8 prefill instances into one TP8 decode instance need
// all 8 of its NICs each: the second pull waits for the whole first one, bytes / (8 x 0.5 GB/s),
// half that on average over the two.
TEST(SimServing, PdPullsUseAsManyLanesAsTheLargerInstanceHas) {
  const ServingPoint side_by_side = two_prompts_slow_link("2P-TP4 1D-TP8");
  EXPECT_NEAR(side_by_side.kv_transfer_s, 3.2768e9 / (0.5e9 * 4) + builtin_profile("h100-sxm").kv_link_latency_s, 1e-12);
  EXPECT_EQ(side_by_side.kv_pull_wait_s, 0.0);
  const ServingPoint one_lane = two_prompts_slow_link("2P-TP8 1D-TP8");
  EXPECT_NEAR(one_lane.kv_pull_wait_s, 3.2768e9 / (0.5e9 * 8) / 2, 1e-9);
}

// A PD layout whose one decode instance is the bottleneck: prompts are prefilled quickly by three
// instances and then wait for KV room on the decode instance. That wait is queueing, so it must
// be in queue_s: every request's TTFT is its waits plus its service (prefill, transfer, first
// decode step), so TTFT - queue_s is at least the KV transfer and at most a few seconds of
// service here, while TTFT itself runs to minutes.
TEST(SimServing, PdQueueIncludesTheWaitForTheDecodeInstance) {
  const ServingPoint p = run("3P-TP4 1D-TP4", 256);
  ASSERT_TRUE(p.feasible);
  EXPECT_GT(p.ttft_s, 30.0);
  EXPECT_GE(p.ttft_s - p.queue_s, p.kv_transfer_s);
  EXPECT_LT(p.ttft_s - p.queue_s, 10.0) << "ttft " << p.ttft_s << " queue " << p.queue_s;
}

TEST(SimServing, InfeasibleWhenOneSequenceDoesNotFit) {
  ServingConfig cfg;
  cfg.concurrency = 1;
  PerfParams par;
  par.memory_reserve_bytes = 20e9;
  const ServingPoint p = simulate_serving(parse_layout("1R-TP2"), preset_model("llama-3.1-70b"),
                                          builtin_profile("h100-sxm"), par, cfg);
  EXPECT_FALSE(p.feasible);
  EXPECT_NE(p.reason.find("KV"), std::string::npos);
}

TEST(SimLayout, ParsesLlmdNamesAndRejectsBadOnes) {
  EXPECT_EQ(parse_layout("4R-TP4").num_gpus(), 16);
  EXPECT_EQ(parse_layout("TP8").name(), "1R-TP8");
  const Layout pd = parse_layout("2P-TP4  1D-TP8");
  EXPECT_TRUE(pd.disaggregated);
  EXPECT_EQ(pd.name(), "2P-TP4 1D-TP8");
  EXPECT_EQ(pd.num_gpus(), 16);
  EXPECT_EQ(parse_layout_list("1R-TP2,1P-TP8 1D-TP8").size(), 2u);
  for (const char* bad : {"", "4R", "R-TP4", "0R-TP4", "2P-TP4", "1P-TP4 1X-TP8", "TP", "4R-TP4x"})
    EXPECT_THROW(parse_layout(bad), UsageError) << bad;
  // A long argument is refused before the regex matcher, which recurses once per character and
  // overflowed the stack on this one.
  EXPECT_THROW(parse_layout(std::string(100000, ' ') + "TP4"), UsageError);
}

// Every point of the llm-d grid runs (its speed is bench/serving_grid.cpp's: a speed target
// is a benchmark, not a timed test).
TEST(SimServing, WholeLlmdGridRuns) {
  GridSpec g;
  for (const char* l : {"1R-TP2", "2R-TP2", "3R-TP2", "4R-TP2", "5R-TP2", "6R-TP2", "7R-TP2", "8R-TP2", "1R-TP4",
                        "2R-TP4", "3R-TP4", "4R-TP4", "1R-TP8", "2R-TP8", "1P-TP4 3D-TP4", "1P-TP8 1D-TP8",
                        "2P-TP4 1D-TP8", "2P-TP4 2D-TP4", "3P-TP4 1D-TP4"})
    g.layouts.push_back(parse_layout(l));
  g.concurrency = {1, 8, 32, 64, 128, 256};
  const auto pts = simulate_grid(g, preset_model("llama-3.1-70b"), builtin_profile("h100-sxm"), PerfParams{});
  EXPECT_EQ(pts.size(), 114u);
  for (const auto& p : pts) EXPECT_TRUE(p.feasible) << p.layout << " C=" << p.concurrency << ": " << p.reason;
}

}  // namespace
}  // namespace tpbench
