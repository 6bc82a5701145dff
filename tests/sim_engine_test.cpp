// The engine's KV policies on hand-traced scenarios: with KV for 25 tokens and two requests of
// ISL 10 / OSL 10, Reserve runs them one after the other; OnDemand admits both, runs out of
// room after three decode tokens each, preempts the newer one and recomputes its 10 + 3
// tokens once the older one has finished.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tpbench
