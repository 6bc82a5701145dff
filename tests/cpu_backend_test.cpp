// The cpu backend executes every plan so that TP=N equals the unsharded TP=1 step: the
// logits of a sharded run against those of TP=1 (an independent, unsharded computation).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "harness/backend/cpu_backend.hpp"
#include "harness/backend/detail/cpu_ops.hpp"
#include "harness/plan/plan.hpp"
#include "harness/common/error.hpp"
#include "harness/sweep/measure_point.hpp"
#include "harness/sweep/verify.hpp"
#include "tests/enum_printers.hpp"

using namespace tpbench;

namespace {

std::vector<float> run_logits(const ModelSpec& m, const StepConfig& c, StepTime* time = nullptr) {
  auto backend = make_cpu_backend({});
  const StepProgram p = build_program(m, c);
  backend->prepare(p);
  const StepTime t = backend->run(Variant::Full);
  if (time) *time = t;
  return backend->logits();
}

StepConfig config(PlanKind plan, int tp, int64_t batch, Overlap ov = Overlap::None, Phase ph = Phase::Decode) {
  StepConfig c;
  c.plan = plan;
  c.tp = tp;
  c.batch = batch;
  c.context = 48;
  c.overlap = ov;
  c.phase = ph;
  c.chunk = ph == Phase::Prefill ? 16 : 0;
  return c;
}

}  // namespace

class ShardedEqualsUnsharded : public ::testing::TestWithParam<std::tuple<PlanKind, int, Overlap>> {};

TEST_P(ShardedEqualsUnsharded, DecodeAndPrefill) {
  const auto [plan, tp, overlap] = GetParam();
  const ModelSpec m = preset_model("tiny");
  for (Phase ph : {Phase::Decode, Phase::Prefill})
    for (int64_t batch : {1, 3, 4}) {
      const std::vector<float> want = run_logits(m, config(PlanKind::TP, 1, batch, Overlap::None, ph));
      const std::vector<float> got = run_logits(m, config(plan, tp, batch, overlap, ph));
      ASSERT_EQ(got.size(), size_t(batch * m.vocab));
      EXPECT_LE(relative_l2(got, want), 1e-5) << plan_name(plan) << " TP=" << tp << " batch=" << batch << " "
                                              << phase_name(ph) << " " << overlap_name(overlap);
    }
}

// Readable test names: "tp_sp_TP4_streams".
std::string case_name(const ::testing::TestParamInfo<std::tuple<PlanKind, int, Overlap>>& info) {
  std::string plan = plan_name(std::get<0>(info.param));
  for (char& ch : plan)
    if (ch == '-') ch = '_';
  return plan + "_TP" + std::to_string(std::get<1>(info.param)) + "_" + overlap_name(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllPlans, ShardedEqualsUnsharded,
                         ::testing::Combine(::testing::Values(PlanKind::TP, PlanKind::TPSP, PlanKind::WeightGather),
                                            ::testing::Values(1, 2, 4, 8),
                                            ::testing::Values(Overlap::None, Overlap::Streams)),
                         case_name);
// Split (batch chunks overlapping their all-reduces) is defined for the tp plan only.
INSTANTIATE_TEST_SUITE_P(SplitOverlap, ShardedEqualsUnsharded,
                         ::testing::Combine(::testing::Values(PlanKind::TP), ::testing::Values(1, 2, 4, 8),
                                            ::testing::Values(Overlap::Split)),
                         case_name);

// The comparison can fail: a different seed (other weights) is far from the reference.
TEST(CpuBackend, VerificationDetectsDifferentWeights) {
  const ModelSpec m = preset_model("tiny");
  StepConfig a = config(PlanKind::TP, 2, 2), b = a;
  b.seed ^= 1;
  EXPECT_GT(relative_l2(run_logits(m, a), run_logits(m, b)), 0.1);
}

// A backend that forwards to the cpu backend, refuses TP=1 programs (as a GPU too small for the
// unsharded reference would) or throws in run(), and counts its releases.
class RefusingBackend final : public Backend {
 public:
  bool refuse_tp1 = false, throw_in_run = false;
  std::function<void()> in_prepare;  // runs after the inner prepare (a set-up that throws)
  int prepared = 0, released = 0;
  std::string name() const override { return "refusing"; }
  BackendKind kind() const override { return BackendKind::Cpu; }
  double verify_tolerance(const ModelSpec& m) const override { return inner_->verify_tolerance(m); }
  std::optional<std::string> cannot_run(const StepProgram& p) const override {
    if (refuse_tp1 && p.config.tp == 1) return std::string("needs 99 GB, 1 GB free");
    return inner_->cannot_run(p);
  }
  void prepare(const StepProgram& p) override {
    ++prepared;
    inner_->prepare(p);
    choices_ = {{"attention", "tpbench-split"}};  // what a kernel choice in prepare would say
    if (in_prepare) in_prepare();
  }
  StepTime run(Variant v) override {
    if (throw_in_run) throw std::runtime_error("device fault");
    return inner_->run(v);
  }
  std::vector<double> profile_ops() override { return inner_->profile_ops(); }
  std::vector<float> logits() const override { return inner_->logits(); }
  void release() override {
    ++released;
    inner_->release();
    choices_ = nullptr;
  }
  nlohmann::json system_info() const override { return nullptr; }
  nlohmann::json kernel_choices() const override { return choices_; }

 private:
  std::unique_ptr<Backend> inner_ = make_cpu_backend({});
  nlohmann::json choices_;
};

TEST(Verifier, ComparesShardedWithUnsharded) {
  RefusingBackend b;
  Verifier v(preset_model("tiny"), 1e-5);
  const VerifyResult r = v.check(b, config(PlanKind::TP, 2, 2));
  EXPECT_FALSE(r.not_runnable);
  EXPECT_TRUE(r.passed);
  EXPECT_LE(r.rel_l2, 1e-5);
  EXPECT_EQ(b.prepared, 2);  // the TP=1 reference and the TP=2 step
  EXPECT_EQ(b.released, 2);
}

// A reference that does not fit is reported as not runnable (nothing compared), not as a
// failed point or an out-of-memory crash; nothing is prepared.
TEST(Verifier, ReferenceThatDoesNotFitIsNotRunnable) {
  RefusingBackend b;
  b.refuse_tp1 = true;
  Verifier v(preset_model("tiny"), 1e-5);
  const VerifyResult r = v.check(b, config(PlanKind::TP, 2, 2));
  ASSERT_TRUE(r.not_runnable);
  EXPECT_NE(r.not_runnable->find("TP=1 reference: needs 99 GB"), std::string::npos) << *r.not_runnable;
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(b.prepared, 0);
}

// A step that throws still releases what it prepared (the next point's memory check would
// otherwise see the verification's buffers as taken).
TEST(Verifier, ReleasesWhenTheStepThrows) {
  RefusingBackend b;
  b.throw_in_run = true;
  Verifier v(preset_model("tiny"), 1e-5);
  EXPECT_THROW(v.check(b, config(PlanKind::TP, 2, 2)), std::runtime_error);
  EXPECT_EQ(b.prepared, 1);
  EXPECT_EQ(b.released, 1);
}

// A set-up that finds the point cannot run here (a library that fails at run time, a shape no
// kernel supports) makes it not_runnable with the reason; another failure makes it failed. Both
// keep the kernels chosen before the failure, and release what was prepared.
TEST(MeasurePoint, NotRunnableInSetUpIsNotRunnableWithItsKernels) {
  RefusingBackend b;
  b.in_prepare = [] { throw NotRunnableError("cudnnCreate failed: CUDNN_STATUS_NOT_INITIALIZED"); };
  Verifier v(preset_model("tiny"), 1e-5);
  SweepOptions o;
  const Point p = measure_point(b, b, preset_model("tiny"), config(PlanKind::TP, 2, 2), o, v);
  EXPECT_EQ(p.status, PointStatus::NotRunnable);
  EXPECT_EQ(p.reason, "cudnnCreate failed: CUDNN_STATUS_NOT_INITIALIZED");
  EXPECT_EQ(p.kernels.value("attention", ""), "tpbench-split");
  EXPECT_EQ(b.released, 1);
}

TEST(MeasurePoint, AFailedStepIsFailedWithTheKernelsItTried) {
  RefusingBackend b;
  b.throw_in_run = true;
  Verifier v(preset_model("tiny"), 1e-5);
  SweepOptions o;
  const Point p = measure_point(b, b, preset_model("tiny"), config(PlanKind::TP, 2, 2), o, v);
  EXPECT_EQ(p.status, PointStatus::Failed);
  EXPECT_EQ(p.reason, "device fault");
  EXPECT_EQ(p.kernels.value("attention", ""), "tpbench-split");
  EXPECT_EQ(b.released, 1);
}

// Logits are finite and not degenerate (activations stay O(1) through the layers).
TEST(CpuBackend, LogitsAreFiniteAndVaried) {
  const std::vector<float> l = run_logits(preset_model("tiny"), config(PlanKind::TP, 2, 2));
  double sum = 0, sq = 0;
  for (float v : l) {
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    sq += double(v) * v;
  }
  const double mean = sum / l.size(), var = sq / l.size() - mean * mean;
  EXPECT_GT(var, 1e-4);
}

// Hand-computed attention: one sequence, one head, d = 2, two cached positions + the new one.
TEST(CpuOps, AttentionMatchesHandComputation) {
  Op op;
  op.kind = OpKind::Attention;
  op.attn = AttentionShape{1, 1, 2, 1, 1, 2, 0};
  detail::HostBuffers mem(3);
  // qkv row: q = (1, 0), k_new = (0, 1), v_new = (5, 7)
  mem[0] = {1, 0, 0, 1, 5, 7};
  mem[1] = {1, 0, 0, 0, 0, 0};  // K cache [S=3][d=2]: k0 = (1, 0), k1 = (0, 0), slot 2 for the new one
  mem[2] = {1, 2, 3, 4, 0, 0};  // V cache: v0 = (1, 2), v1 = (3, 4)
  mem.push_back(std::vector<float>(2, 0));
  op.a = View{0, 0, 1, 6, 6};
  op.k_cache = 1;
  op.v_cache = 2;
  op.out = View{3, 0, 1, 2, 2};
  detail::attention_reference(op, mem);
  // scores: q.k / sqrt(2) = (1/sqrt2, 0, 0); weights e^{s} / sum.
  const double e = std::exp(1 / std::sqrt(2.0)), z = e + 2;
  EXPECT_NEAR(mem[3][0], (e * 1 + 3 + 5) / z, 1e-6);
  EXPECT_NEAR(mem[3][1], (e * 2 + 4 + 7) / z, 1e-6);
  EXPECT_EQ(mem[1][4], 0);  // new K appended at position 2
  EXPECT_EQ(mem[1][5], 1);
}

// Timed runs report the layers and the head separately, both positive.
TEST(CpuBackend, StepTimeHasLayersAndHead) {
  StepTime t;
  run_logits(preset_model("tiny"), config(PlanKind::TP, 2, 2, Overlap::Streams), &t);
  EXPECT_GT(t.layers_s, 0);
  EXPECT_GT(t.head_s, 0);
}

// The CUDA backend reports each section of the step as its slowest rank's (host logic, checked
// here because it cannot run without a GPU): sections must not be shifted or mixed.
TEST(StepTimes, SlowestSectionsPicksEachSectionsMaximum) {
  StepTime a, b;
  a.prologue_s = 1e-6; a.layers_s = 5e-3; a.head_s = 2e-4;
  b.prologue_s = 3e-6; b.layers_s = 4e-3; b.head_s = 7e-4;
  const StepTime w = slowest_sections({a, b});
  EXPECT_DOUBLE_EQ(w.prologue_s, 3e-6);
  EXPECT_DOUBLE_EQ(w.layers_s, 5e-3);
  EXPECT_DOUBLE_EQ(w.head_s, 7e-4);
  // --layers 4 of an 80-layer model: prologue + 20 x layers + head.
  EXPECT_DOUBLE_EQ(w.scaled(20), 3e-6 + 20 * 5e-3 + 7e-4);
}

// A program larger than the machine is refused before any allocation.
TEST(CpuBackend, RefusesPointsThatDoNotFit) {
  auto backend = make_cpu_backend({});
  StepConfig c = config(PlanKind::TP, 8, 64);
  c.context = 11000;
  const StepProgram p = build_program(preset_model("llama-3.1-70b"), c);
  const auto why = backend->cannot_run(p);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("MiB"), std::string::npos);
}

// Running the same prepared step again gives the same logits: the prologue rewrites the
// residual stream from the read-only embedding output (timing loops replay the step).
TEST(CpuBackend, RepeatedStepsAreIdentical) {
  auto backend = make_cpu_backend({});
  const StepProgram p = build_program(preset_model("tiny"), config(PlanKind::WeightGather, 2, 3, Overlap::Streams));
  backend->prepare(p);
  backend->run(Variant::Full);
  const std::vector<float> first = backend->logits();
  backend->run(Variant::Full);
  backend->run(Variant::Full);
  EXPECT_EQ(backend->logits(), first);
}
