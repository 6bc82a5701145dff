// The plan is the one description of a step: the executable program (all layers, every rank)
// and the cost model (a few-layer template whose rows follow the step's work) must agree on the
// work of every plan x overlap x TP x preset, and on the critical path through the two streams.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/perf/critical_path.hpp"
#include "harness/perf/op_pricing.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/plan/op_cost.hpp"
#include "harness/plan/plan.hpp"

namespace tpbench {
namespace {

struct Case {
  std::string model;
  PlanKind plan;
  Overlap overlap;
  int tp;
  Phase phase;
  int64_t batch, context, chunk;
};

std::string name_of(const Case& c) {
  return c.model + " " + plan_name(c.plan) + "/" + overlap_name(c.overlap) + " TP" + std::to_string(c.tp) + " " +
         phase_name(c.phase) + " B" + std::to_string(c.batch) + " S" + std::to_string(c.context) + " T" +
         std::to_string(c.chunk);
}

std::vector<Case> cases() {
  std::vector<Case> out;
  const std::vector<std::pair<PlanKind, Overlap>> schemes = {
      {PlanKind::TP, Overlap::None},           {PlanKind::TP, Overlap::Streams},
      {PlanKind::TP, Overlap::Split},          {PlanKind::TPSP, Overlap::None},
      {PlanKind::TPSP, Overlap::Streams},      {PlanKind::WeightGather, Overlap::None},
      {PlanKind::WeightGather, Overlap::Streams}};
  for (const std::string model : {"tiny", "llama-3.1-8b", "llama-3.1-70b"})
    for (const auto& [plan, overlap] : schemes)
      for (int tp : {1, 2, 4, 8}) {
        for (int64_t batch : {int64_t(1), int64_t(3), int64_t(13)})
          out.push_back({model, plan, overlap, tp, Phase::Decode, batch, 777, 0});
        out.push_back({model, plan, overlap, tp, Phase::Prefill, 2, 600, 200});
        out.push_back({model, plan, overlap, tp, Phase::Prefill, 5, 97, 97});
      }
  return out;
}

StepProgram executable(const Case& c) {
  StepConfig sc;
  sc.plan = c.plan;
  sc.overlap = c.overlap;
  sc.tp = c.tp;
  sc.phase = c.phase;
  sc.batch = c.batch;
  sc.context = c.context;
  sc.chunk = c.chunk;
  return build_program(preset_model(c.model), sc);
}

StepWork work_of(const StepProgram& p) {
  return uniform_work(p.config.batch, p.config.new_tokens(), p.config.prior());
}

void expect_close(double a, double b, const std::string& what) {
  EXPECT_NEAR(a, b, 1e-9 * std::max(1.0, std::fabs(b))) << what;
}

// Weight bytes read, KV bytes, FLOPs, HBM bytes and collective bytes by kind: the executable
// program's rank 0 (the cost model prices rank 0) against the cost model at the same work.
TEST(StepOpsConsistency, ProgramTotalsEqualCostModelTotals) {
  const SystemProfile prof = builtin_profile("h100-sxm");
  for (const Case& c : cases()) {
    const StepProgram p = executable(c);
    const RankProgram& r = p.ranks[0];
    const StepCostModel model(p.model, c.tp, prof, PerfParams{}, StepScheme{c.plan, c.overlap, p.config.split_chunks});
    const StepTotals t = model.totals_at(work_of(p));
    const OpTotals e = totals(r);
    const std::string n = name_of(c);
    expect_close(t.flops, e.flops, n + " flops");
    expect_close(t.weight_bytes, e.weight_bytes, n + " weight bytes");
    expect_close(t.kv_bytes, e.kv_bytes, n + " kv bytes");
    expect_close(t.hbm_bytes, e.hbm_bytes, n + " hbm bytes");
    expect_close(t.collective_bytes, e.collective_bytes_per_rank, n + " collective bytes per rank");
    for (const CollectiveTraits& traits : all_collective_traits()) {
      const CollectiveKind k = traits.kind;
      double bytes = 0;
      for (const Op& op : r.ops)
        if (op.kind == OpKind::Collective && op.collective == k) bytes += op.message_bytes;
      expect_close(t.collective_message_bytes[size_t(k)], bytes, n + " " + collective_name(k) + " bytes");
    }
  }
}

// The step's time from the template (a few layers, extended by its per-layer period) equals the
// critical path of the whole executable program with every op priced by the same rule.
TEST(StepOpsConsistency, TemplateCriticalPathEqualsTheWholeProgram) {
  const SystemProfile prof = builtin_profile("h100-sxm");
  const PerfParams par;
  for (const Case& c : cases()) {
    const StepProgram p = executable(c);
    const RankProgram& r = p.ranks[0];
    const PricingContext ctx{&prof, &par, c.tp, double(dtype_bytes(p.model.dtype))};
    std::vector<double> duration;
    for (const Op& op : r.ops) duration.push_back(price_op(op, attention_work_of(op.attn), ctx).seconds);
    const StepCostModel model(p.model, c.tp, prof, par, StepScheme{c.plan, c.overlap, p.config.split_chunks});
    const double whole = step_critical_path(r, duration);
    EXPECT_NEAR(model.ops_time_s(work_of(p)), whole, 1e-9 * whole) << name_of(c);
  }
}

// A hand-built two-stream program: compute A (3) -> comm B (5, waits for A) while compute C (2)
// runs; compute D (1) waits for B; then comm E (4, waits for D) beside compute F (6). A, C finish
// at 3, 5; B at 3 + 5 = 8; D at max(5, 8) + 1 = 9; E at 9 + 4 = 13; F at 9 + 6 = 15: 15.
TEST(StepOpsConsistency, HandBuiltTwoStreamCriticalPath) {
  RankProgram r;
  auto add = [&](StreamId s, std::vector<int> deps) {
    Op op;
    op.stream = s;
    op.deps = std::move(deps);
    r.ops.push_back(op);
  };
  add(StreamId::Compute, {});     // A
  add(StreamId::Comm, {0});       // B
  add(StreamId::Compute, {});     // C
  add(StreamId::Compute, {1});    // D
  add(StreamId::Comm, {3});       // E
  add(StreamId::Compute, {});     // F
  const std::vector<double> d = {3, 5, 2, 1, 4, 6};
  EXPECT_DOUBLE_EQ(section_time(r.ops, d, 0, 6), 15.0);
  // As one serial stream it is the sum, 21; as two sections [A..C] and [D..F] that join between
  // them: max(3 + 5, 3 + 2) = 8, then D 1, E and F from 9: max(1 + 4, 1 + 6) = 7; 8 + 7 = 15.
  r.layers_begin = 0;
  r.head_begin = 3;
  EXPECT_DOUBLE_EQ(step_critical_path(r, d), 15.0);
  for (Op& op : r.ops) op.stream = StreamId::Compute;
  EXPECT_DOUBLE_EQ(section_time(r.ops, d, 0, 6), 21.0);
}

}  // namespace
}  // namespace tpbench
