// E4M3 rounding against an independent decoder of all 256 bit patterns, and FP8 on the cpu
// backend: sharded runs against the unsharded one, and FP8 against BF16 storage.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "harness/backend/cpu_backend.hpp"
#include "harness/plan/plan.hpp"
#include "harness/sweep/verify.hpp"
#include "kernels/detail/counter_rng.hpp"
#include "kernels/detail/fp8_e4m3.hpp"

namespace tpbench {
namespace {

// The value of an E4M3 byte (OCP FP8: bias 7; exponent field 0 is subnormal; S.1111.111 is NaN).
double decode_e4m3(int bits) {
  const int sign = bits >> 7, e = (bits >> 3) & 15, m = bits & 7;
  if (e == 15 && m == 7) return std::numeric_limits<double>::quiet_NaN();
  const double mag = e == 0 ? m / 8.0 * std::ldexp(1.0, -6) : (1 + m / 8.0) * std::ldexp(1.0, e - 7);
  return sign ? -mag : mag;
}

TEST(Fp8E4M3, HandValues) {
  EXPECT_EQ(fp8::round_e4m3(1.0f), 1.0f);
  EXPECT_EQ(fp8::round_e4m3(1.0625f), 1.0f);      // halfway 1 and 1.125: to the even mantissa 000
  EXPECT_EQ(fp8::round_e4m3(1.1875f), 1.25f);     // halfway 1.125 and 1.25: to 010
  EXPECT_EQ(fp8::round_e4m3(-3.3f), -3.25f);      // binade 2: steps of 0.25
  EXPECT_EQ(fp8::round_e4m3(448.0f), 448.0f);
  EXPECT_EQ(fp8::round_e4m3(1000.0f), 448.0f);    // saturates
  EXPECT_EQ(fp8::round_e4m3(0.0137f), 7 * 0.001953125f);  // subnormal: steps of 2^-9
  EXPECT_EQ(fp8::round_e4m3(0.0009765625f), 0.0f);         // 2^-10, halfway 0 and 2^-9: to 0
  EXPECT_TRUE(std::isnan(fp8::round_e4m3(NAN)));
  EXPECT_FLOAT_EQ(fp8::quantize(0.01f, 0.5f), 0.5f * fp8::round_e4m3(0.02f));
}

// Every finite E4M3 value is a fixed point, and any x rounds to a nearest one (ties to the even
// mantissa), found by brute force over the decoded table.
TEST(Fp8E4M3, NearestOfAllFiniteValues) {
  std::vector<double> grid;
  std::vector<int> mantissa;
  for (int b = 0; b < 256; ++b) {
    const double v = decode_e4m3(b);
    if (std::isnan(v)) continue;
    EXPECT_EQ(double(fp8::round_e4m3(float(v))), v) << b;
    grid.push_back(v);
    mantissa.push_back(b & 7);
  }
  for (uint64_t i = 0; i < 20000; ++i) {
    const float x = 500.0f * float(rng::uniform_pm1(7, 11, i)) * float(std::pow(2.0, -12.0 * std::fabs(rng::uniform_pm1(7, 12, i))));
    double best = 0, best_d = INFINITY;
    int best_m = 0;
    for (size_t k = 0; k < grid.size(); ++k) {
      const double d = std::fabs(grid[k] - double(std::fmin(std::fmax(x, -448.0f), 448.0f)));
      if (d < best_d || (d == best_d && (mantissa[k] % 2 == 0) && (best_m % 2 == 1))) {
        best = grid[k];
        best_d = d;
        best_m = mantissa[k];
      }
    }
    EXPECT_EQ(std::fabs(double(fp8::round_e4m3(x))), std::fabs(best)) << x;
  }
}

std::vector<float> run_logits(const ModelSpec& m, const StepConfig& c) {
  auto backend = make_cpu_backend({});
  const StepProgram p = build_program(m, c);  // the backend keeps a pointer to it
  backend->prepare(p);
  backend->run(Variant::Full);
  return backend->logits();
}

StepConfig config(PlanKind plan, int tp, int64_t batch, Phase ph) {
  StepConfig c;
  c.plan = plan;
  c.tp = tp;
  c.batch = batch;
  c.context = 48;
  c.phase = ph;
  c.chunk = ph == Phase::Prefill ? 16 : 0;
  return c;
}

// The tolerance is derived in verify.hpp from E4M3's precision.
constexpr double kFp8VerifyTolerance = kFp8CpuVerifyTolerance;

TEST(Fp8CpuBackend, ShardedEqualsUnshardedWithinRoundingFlips) {
  ModelSpec m = preset_model("tiny");
  m.weight_dtype = m.kv_dtype = DType::FP8E4M3;
  for (Phase ph : {Phase::Decode, Phase::Prefill})
    for (int64_t batch : {1, 3}) {
      const std::vector<float> want = run_logits(m, config(PlanKind::TP, 1, batch, ph));
      for (PlanKind plan : {PlanKind::TP, PlanKind::TPSP})
        for (int tp : {2, 4, 8})
          EXPECT_LE(relative_l2(run_logits(m, config(plan, tp, batch, ph)), want), kFp8VerifyTolerance)
              << plan_name(plan) << " TP=" << tp << " batch=" << batch << " " << phase_name(ph);
    }
}

// The comparison above can fail: FP8 storage moves the logits far more than rounding flips do.
// Each E4M3 rounding is off by 2^-4 / sqrt(3) ~ 3.6 % of a value (RMS, uniform within half a
// step); with weights, inputs and K/V all rounded the logits move by several percent.
TEST(Fp8CpuBackend, Fp8DiffersFromBf16ByE4M3Rounding) {
  const ModelSpec bf16 = preset_model("tiny");
  ModelSpec fp8 = bf16;
  fp8.weight_dtype = fp8.kv_dtype = DType::FP8E4M3;
  const double d = relative_l2(run_logits(fp8, config(PlanKind::TP, 2, 3, Phase::Decode)),
                               run_logits(bf16, config(PlanKind::TP, 2, 3, Phase::Decode)));
  EXPECT_GT(d, kFp8VerifyTolerance);
  EXPECT_LT(d, 0.5);
}

}  // namespace
}  // namespace tpbench
