// The engine's KV policies on hand-traced scenarios: with KV for 25 tokens and two requests of
// ISL 10 / OSL 10, Reserve runs them one after the other; OnDemand admits both, runs out of
// room after three decode tokens each, preempts the newer one and recomputes its 10 + 3
// tokens once the older one has finished.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "harness/sim/engine.hpp"

namespace tpbench {
namespace {

// Every step takes 1 s whatever it holds: time counts steps.
class UnitSteps : public StepTimeSource {
 public:
  StepCost step(const StepShape&) const override {
    StepCost c;
    c.total_s = 1.0;
    return c;
  }
};

struct EngineRun {
  std::vector<Request> reqs;
  EngineStats stats;
  int64_t max_kv = 0;
};

EngineRun run_two(KvPolicy policy) {
  const UnitSteps steps;
  Engine e(EngineRole::Aggregated, &steps, /*kv_tokens=*/25, /*max_batched=*/64, /*max_seqs=*/8, policy);
  EngineRun r;
  for (int i = 0; i < 2; ++i) {
    Request q;
    q.isl = 10;
    q.osl = 10;
    q.user = i;
    r.reqs.push_back(q);
    e.enqueue(i);
  }
  double now = 0;
  std::vector<int> prefilled, completed;
  while (e.has_work()) {
    // horizon = now + one step: no multi-step jumps, so the trace is step by step.
    e.start_step(now, now + 1.0, r.reqs);
    r.max_kv = std::max(r.max_kv, e.kv_used());
    now = e.step_end();
    e.finish_step(r.reqs, prefilled, completed);
  }
  EXPECT_EQ(e.kv_used(), 0);
  r.stats = e.stats();
  return r;
}

TEST(SimEngine, ReserveRunsTwoRequestsOneAfterTheOther) {
  const EngineRun r = run_two(KvPolicy::Reserve);
  // Each request reserves 20 of 25 tokens: one prefill step + 9 decode steps, then the other.
  EXPECT_DOUBLE_EQ(r.reqs[0].finish, 10.0);
  EXPECT_DOUBLE_EQ(r.reqs[1].admitted, 10.0);
  EXPECT_DOUBLE_EQ(r.reqs[1].finish, 20.0);
  EXPECT_EQ(r.stats.preemptions, 0);
  EXPECT_LE(r.max_kv, 25);
}

TEST(SimEngine, OnDemandPreemptsTheNewestAndRecomputes) {
  const EngineRun r = run_two(KvPolicy::OnDemand);
  // Step 1 prefills both (20 tokens), steps 2-3 decode both (22, 24); step 4 needs 26 > 25, so
  // request 1 (3 tokens generated) is preempted and request 0 decodes alone until its 10th
  // token at the end of step 10. Step 11 recomputes 10 + 3 tokens of request 1 and samples its
  // 4th; steps 12-17 give tokens 5-10.
  EXPECT_EQ(r.stats.preemptions, 1);
  EXPECT_DOUBLE_EQ(r.stats.recomputed_tokens, 13);
  EXPECT_EQ(r.reqs[1].preemptions, 1);
  EXPECT_DOUBLE_EQ(r.reqs[0].finish, 10.0);
  EXPECT_DOUBLE_EQ(r.reqs[1].first_token, 1.0);  // TTFT is the first token, not the recompute
  EXPECT_DOUBLE_EQ(r.reqs[1].finish, 17.0);
  // Preempted at the start of step 4 (t=3), admitted again at the start of step 11 (t=10).
  EXPECT_DOUBLE_EQ(r.reqs[1].requeue_wait_s, 7.0);
  EXPECT_EQ(r.reqs[0].generated, 10);
  EXPECT_EQ(r.reqs[1].generated, 10);
  EXPECT_LE(r.max_kv, 25);
}

// A PD decode instance receives requests already prefilled: with KV for 22 tokens, one running
// request (10 + 1) and a second arriving (10), admitting it would need 11 + 1 + 10 + 1 = 23 slots
// once both decode, so it must wait for room instead of overfilling the cache by one.
TEST(SimEngine, OnDemandDecodeInstanceNeverOverfillsOnArrival) {
  const UnitSteps steps;
  Engine e(EngineRole::Decode, &steps, /*kv_tokens=*/22, /*max_batched=*/64, /*max_seqs=*/8, KvPolicy::OnDemand);
  std::vector<Request> reqs(2);
  for (auto& q : reqs) {
    q.isl = 10;
    q.osl = 10;
    q.prefilled = 10;  // arrived by KV transfer
  }
  e.enqueue(0);
  double now = 0;
  std::vector<int> prefilled, completed;
  int64_t max_kv = 0;
  bool second_in = false;
  while (e.has_work()) {
    e.start_step(now, now + 1.0, reqs);
    max_kv = std::max(max_kv, e.kv_used());
    now = e.step_end();
    e.finish_step(reqs, prefilled, completed);
    if (!second_in) {  // the second request arrives after the first step
      e.enqueue(1);
      second_in = true;
    }
  }
  EXPECT_LE(max_kv, 22);
  EXPECT_EQ(reqs[0].generated, 10);
  EXPECT_EQ(reqs[1].generated, 10);
  EXPECT_EQ(e.kv_used(), 0);
}

// PD as vLLM's NIXL connector runs it, hand-traced with 1 s steps. A prefill instance with KV for
// 25 tokens and three prompts of 10: it prefills two (one step), and they keep their KV after
// leaving, so the third is not admitted until one of them is freed by its decode instance's pull.
TEST(SimEngine, PrefillKeepsKvUntilTheDecodeInstancePulledIt) {
  const UnitSteps steps;
  Engine pre(EngineRole::Prefill, &steps, /*kv_tokens=*/25, /*max_batched=*/64, /*max_seqs=*/8);
  std::vector<Request> reqs(3);
  for (int i = 0; i < 3; ++i) {
    reqs[size_t(i)].isl = 10;
    reqs[size_t(i)].osl = 5;
    pre.enqueue(i);
  }
  std::vector<int> prefilled, completed;
  pre.start_step(0, 1, reqs);
  ASSERT_TRUE(pre.in_step());
  pre.finish_step(reqs, prefilled, completed);
  ASSERT_EQ(prefilled, (std::vector<int>{0, 1}));
  EXPECT_EQ(pre.kv_used(), 20);  // both prompts still held
  EXPECT_EQ(reqs[0].prefill_kv, 10);
  prefilled.clear();
  pre.start_step(1, 2, reqs);
  EXPECT_FALSE(pre.in_step());  // 20 + 10 > 25: the third prompt waits, and nothing else can run
  pre.free_prefill_kv(reqs[0]);  // request 0's decode instance has pulled it
  EXPECT_EQ(pre.kv_used(), 10);
  pre.start_step(2, 3, reqs);
  ASSERT_TRUE(pre.in_step());
  pre.finish_step(reqs, prefilled, completed);
  EXPECT_EQ(prefilled, (std::vector<int>{2}));
  EXPECT_DOUBLE_EQ(reqs[2].admitted, 2.0);
}

// A step of 1 s plus 10 ms per token of decode context: time that grows as the batch decodes.
class ContextSteps : public StepTimeSource {
 public:
  StepCost step(const StepShape& s) const override {
    StepCost c;
    c.total_s = 1.0 + 0.01 * s.decode_ctx_tokens;
    return c;
  }
};

// A decode instance given a prefilled request (ISL 100, OSL 5) with no outside events takes its
// five decode steps as one event: steps at context 100..104 take 2.00, 2.01, ... 2.04 s, so the
// first token comes at 2.00 (the first step's own time, not the event's mean 2.02) and the last
// at 10.10.
TEST(SimEngine, FirstTokenInsideABatchedEventComesAfterTheFirstStep) {
  const ContextSteps steps;
  Engine dec(EngineRole::Decode, &steps, /*kv_tokens=*/1000, /*max_batched=*/64, /*max_seqs=*/8);
  std::vector<Request> reqs(1);
  reqs[0].isl = 100;
  reqs[0].osl = 5;
  reqs[0].prefilled = 100;
  dec.enqueue(0);
  std::vector<int> prefilled, completed;
  dec.start_step(0, INFINITY, reqs);
  ASSERT_TRUE(dec.in_step());
  EXPECT_NEAR(dec.step_end(), 10.10, 1e-9);  // one event: all five steps
  dec.finish_step(reqs, prefilled, completed);
  EXPECT_EQ(completed, (std::vector<int>{0}));
  EXPECT_NEAR(reqs[0].first_token, 2.00, 1e-9);
  EXPECT_NEAR(reqs[0].finish, 10.10, 1e-9);
}

// A decode instance with a 0.5 s KV pull: a prefilled request admitted at t=0 is not decoded
// before t=0.5 (no step starts while it is the only work), then decodes its 5 tokens in five
// 1 s steps: first token at 1.5, finish at 5.5.
TEST(SimEngine, DecodeInstanceWaitsForThePulledKv) {
  const UnitSteps steps;
  Engine dec(EngineRole::Decode, &steps, /*kv_tokens=*/100, /*max_batched=*/64, /*max_seqs=*/8);
  dec.set_kv_pull(0.5);
  std::vector<Request> reqs(1);
  reqs[0].isl = 10;
  reqs[0].osl = 5;
  reqs[0].prefilled = 10;
  reqs[0].prefill_engine = 0;
  reqs[0].prefill_kv = 10;
  dec.enqueue(0);
  std::vector<int> prefilled, completed;
  dec.start_step(0, INFINITY, reqs);
  EXPECT_FALSE(dec.in_step());
  ASSERT_EQ(dec.pulls(), (std::vector<int>{0}));
  EXPECT_DOUBLE_EQ(reqs[0].ready_at, 0.5);
  double now = 0.5;
  while (dec.has_work()) {
    dec.start_step(now, now + 1.0, reqs);
    ASSERT_TRUE(dec.in_step());
    now = dec.step_end();
    dec.finish_step(reqs, prefilled, completed);
  }
  EXPECT_DOUBLE_EQ(reqs[0].first_token, 1.5);
  EXPECT_DOUBLE_EQ(reqs[0].finish, 5.5);
}

// A decode instance running one request while another pulls its KV for 2.5 s (1 s steps, one
// step at a time): the puller is left out of the steps at t = 0, 1 and 2 and decodes from t = 3,
// its first token at 4. Left to batch (no outside horizon), the instance must still stop its
// batch of identical steps at the pull's arrival: the step started at 0 ends at 3, not after
// request 0's ten tokens.
TEST(SimEngine, PullingRequestJoinsOnlyOnceItsKvArrived) {
  const UnitSteps steps;
  auto setup = [](Engine& dec, std::vector<Request>& reqs) {
    dec.set_kv_pull(2.5);
    reqs.assign(2, Request{});
    for (auto& r : reqs) {
      r.isl = 10;
      r.prefilled = 10;
    }
    reqs[0].osl = 10;  // arrives with its KV (no prefill instance holds it)
    reqs[1].osl = 3;
    reqs[1].prefill_engine = 0;
    reqs[1].prefill_kv = 10;
    dec.enqueue(0);
    dec.enqueue(1);
  };
  std::vector<int> prefilled, completed;
  {
    Engine dec(EngineRole::Decode, &steps, 100, 64, 8);
    std::vector<Request> reqs;
    setup(dec, reqs);
    for (double now = 0; now < 3; now += 1) {
      dec.start_step(now, now + 1.0, reqs);
      ASSERT_TRUE(dec.in_step());
      dec.finish_step(reqs, prefilled, completed);
      EXPECT_LT(reqs[1].first_token, 0) << "decoded before its KV arrived, at t=" << now;
    }
    dec.start_step(3, 4, reqs);
    dec.finish_step(reqs, prefilled, completed);
    EXPECT_DOUBLE_EQ(reqs[1].first_token, 4.0);
  }
  {
    Engine dec(EngineRole::Decode, &steps, 100, 64, 8);
    std::vector<Request> reqs;
    setup(dec, reqs);
    dec.start_step(0, INFINITY, reqs);
    ASSERT_TRUE(dec.in_step());
    EXPECT_DOUBLE_EQ(dec.step_end(), 3.0);
  }
}

// On-demand KV at its limit with the newest running request still pulling its KV: vLLM preempts
// running requests only, so the older, decoding one goes; the puller keeps its KV here and on its
// prefill instance. KV 21 tokens: 10 + 10 at admission, one more token after the first step,
// and the second step's token does not fit.
TEST(SimEngine, PreemptionSkipsARequestStillPullingItsKv) {
  const UnitSteps steps;
  Engine dec(EngineRole::Decode, &steps, /*kv_tokens=*/21, 64, 8, KvPolicy::OnDemand);
  dec.set_kv_pull(5.0);
  std::vector<Request> reqs(2);
  for (auto& r : reqs) {
    r.isl = 10;
    r.osl = 20;
    r.prefilled = 10;
  }
  reqs[1].prefill_engine = 0;
  reqs[1].prefill_kv = 10;
  dec.enqueue(0);
  dec.enqueue(1);
  std::vector<int> prefilled, completed;
  dec.start_step(0, 1, reqs);
  dec.finish_step(reqs, prefilled, completed);
  EXPECT_EQ(dec.kv_used(), 21);
  dec.start_step(1, 2, reqs);
  EXPECT_EQ(reqs[0].preemptions, 1);
  EXPECT_EQ(reqs[1].preemptions, 0);
  EXPECT_EQ(reqs[1].kv_held, 10);
  EXPECT_EQ(reqs[1].prefill_kv, 10);
}

}  // namespace
}  // namespace tpbench
