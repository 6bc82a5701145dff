// Measured step times: interpolation of sweep tables against hand-derived numbers
// (tests/fixtures/measured_sweep_tiny.json), the simulator reproducing measured step times at
// concurrency 1, per-phase fallback to the roofline and its marking, and bad files rejected.
#include <gtest/gtest.h>

#include <tuple>

#include <fstream>

#include "harness/common/error.hpp"
#include "harness/io/json_file.hpp"
#include "harness/perf/measured_step_times.hpp"
#include "harness/perf/phased_step_source.hpp"
#include "harness/sim/point_json.hpp"
#include "harness/sim/serving_sim.hpp"

namespace tpbench {
namespace {

const std::string kFixture = std::string(TPBENCH_SOURCE_DIR) + "/tests/fixtures/measured_sweep_tiny.json";

MeasuredStepTimes fixture(const std::string& plan = "") {
  return MeasuredStepTimes::from_files({kFixture}, preset_model("tiny"), plan);
}

TEST(SimMeasured, InterpolateLinearClampsBelowExtrapolatesAbove) {
  const std::vector<double> xs{1, 3}, ys{2, 6};
  EXPECT_DOUBLE_EQ(interpolate_linear(xs, ys, 2).value_s, 4);
  EXPECT_FALSE(interpolate_linear(xs, ys, 2).outside);
  EXPECT_DOUBLE_EQ(interpolate_linear(xs, ys, 0).value_s, 2);  // clamped
  EXPECT_TRUE(interpolate_linear(xs, ys, 0).outside);
  EXPECT_DOUBLE_EQ(interpolate_linear(xs, ys, 5).value_s, 10);  // slope 2 beyond x = 3
  EXPECT_TRUE(interpolate_linear(xs, ys, 5).outside);
  // A noisy falling last segment never makes a bigger step cheaper than the last measured one.
  EXPECT_DOUBLE_EQ(interpolate_linear({1, 2}, {5, 4}, 3).value_s, 4);
  EXPECT_DOUBLE_EQ(interpolate_linear({7}, {3}, 9).value_s, 3);
}

TEST(SimMeasured, DecodeBilinearInBatchAndContext) {
  const MeasuredStepTimes t = fixture();
  // Fixture TP1: (batch, context) -> ms: (1,1000)=10, (4,1000)=16, (1,2000)=14, (4,2000)=22.
  // Batch 2: 10 + 6/3 = 12 at 1000, 14 + 8/3 = 16.667 at 2000; context 1500: 14.333 ms.
  const Lookup mid = t.decode_s(1, 2, 1500);
  EXPECT_NEAR(mid.value_s, 14.3333333e-3, 1e-9);
  EXPECT_FALSE(mid.outside);
  EXPECT_NEAR(t.decode_s(1, 4, 2000).value_s, 22e-3, 1e-12);
  // Batch 8 at 1000: 16 + 2 ms per sequence x 4 = 24 ms (extrapolated, recorded).
  EXPECT_NEAR(t.decode_s(1, 8, 1000).value_s, 24e-3, 1e-9);
  EXPECT_TRUE(t.decode_s(1, 8, 1000).outside);
  EXPECT_NEAR(t.decode_s(1, 1, 500).value_s, 10e-3, 1e-12);   // clamped below
  EXPECT_TRUE(t.decode_s(1, 1, 500).outside);
  EXPECT_NEAR(t.decode_s(1, 1, 3000).value_s, 18e-3, 1e-9);   // 14 + 4 ms per 1000 tokens
  EXPECT_TRUE(t.decode_s(1, 1, 3000).outside);
  // KV slope: (14 - 10) ms / 1000 tokens at batch 1, (22 - 16) / 1000 at batch 4.
  EXPECT_NEAR(t.decode_context_slope(1, 1), 4e-6, 1e-12);
  EXPECT_NEAR(t.decode_context_slope(1, 4), 6e-6, 1e-12);
  // TP2 has one context: constant in context, no slope.
  EXPECT_NEAR(t.decode_s(2, 2, 5000).value_s, (8 + 4.0 / 3) * 1e-3, 1e-9);
  EXPECT_DOUBLE_EQ(t.decode_context_slope(2, 2), 0.0);
}

TEST(SimMeasured, PrefillLinearInStepTokens) {
  const MeasuredStepTimes t = fixture();
  // 256 tokens (chunk 256 x batch 1) = 20 ms, 1024 tokens (512 x 2) = 60 ms.
  EXPECT_NEAR(t.prefill_s(1, 512).value_s, (20 + 40.0 * 256 / 768) * 1e-3, 1e-9);
  EXPECT_FALSE(t.prefill_s(1, 512).outside);
  EXPECT_NEAR(t.prefill_s(1, 2048).value_s, (60 + 40.0 * 1024 / 768) * 1e-3, 1e-9);
  EXPECT_TRUE(t.prefill_s(1, 2048).outside);
  EXPECT_NEAR(t.prefill_s(1, 100).value_s, 20e-3, 1e-12);
}

TEST(SimMeasured, CoverageEmulationAndPlanChoice) {
  const MeasuredStepTimes t = fixture();
  EXPECT_EQ(t.plan(), "tp");  // tp/none by default: the tp-sp point is ignored
  EXPECT_EQ(t.overlap(), "none");
  EXPECT_TRUE(t.has_decode(1) && t.has_prefill(1) && t.has_decode(2));
  EXPECT_FALSE(t.has_prefill(2) || t.has_decode(4));
  EXPECT_TRUE(t.decode_emulated(2));
  EXPECT_FALSE(t.decode_emulated(1) || t.prefill_emulated(1));
  const MeasuredStepTimes sp = fixture("tp-sp");
  EXPECT_NEAR(sp.decode_s(1, 1, 1000).value_s, 0.5, 1e-12);
  EXPECT_FALSE(sp.has_prefill(1));
}

TEST(SimMeasured, MixedStepIsPrefillOfAllTokensPlusDecodeKv) {
  const MeasuredStepTimes t = fixture();
  const ModelSpec m = preset_model("tiny");
  const SystemProfile prof = builtin_profile("h100-sxm");
  const StepCostModel roof(m, 1, prof, PerfParams{});
  const PhasedStepSource src(&roof, &t, 0.0);
  StepShape s;
  s.decode_seqs = 2;
  s.decode_ctx_tokens = 3000;  // mean context 1500
  s.prefill_tokens = 510;      // 512 tokens through the GEMMs
  // prefill(512) = 33.333 ms; KV slope at batch 2 = (16.667 - 12) / 1000 ms per token, x 1500 = 7 ms.
  const StepCost c = src.step(s);
  EXPECT_NEAR(c.total_s, (20 + 40.0 * 256 / 768 + 7.0) * 1e-3, 1e-9);
  EXPECT_FALSE(c.outside_measured);
}

// Sweep document with constant step times: decode T at every (batch, context), prefill P at every size.
nlohmann::json constant_sweep(double T, double P) {
  nlohmann::json doc = read_json_file(kFixture);
  doc["points"] = nlohmann::json::array();
  auto add = [&](const char* phase, int batch, int context, int new_tokens, double s) {
    doc["points"].push_back({{"plan", "tp"}, {"overlap", "none"}, {"phase", phase}, {"tp", 1}, {"batch", batch},
                             {"context", context}, {"new_tokens", new_tokens}, {"emulated", false},
                             {"status", "ok"}, {"step_time_s", {{"median", s}}}});
  };
  for (int b : {1, 2})
    for (int c : {256, 4096}) add("decode", b, c, 1, T);
  add("prefill", 1, 128, 128, P);
  add("prefill", 1, 4096, 4096, P);
  return doc;
}

// A step-time scale stretches a mixed step once, whichever source each part comes from: with
// measured prefill and roofline decode (no decode points), the prefill time is scaled here and
// the decodes' KV time comes scaled from the roofline, which applies its own PerfParams.
TEST(SimMeasured, ScaleAppliesOnceWhenDecodeFallsBackToTheRoofline) {
  const double P = 30e-3;
  nlohmann::json doc = constant_sweep(2e-3, P);
  nlohmann::json prefill_only = nlohmann::json::array();
  for (const auto& q : doc["points"])
    if (q["phase"] == "prefill") prefill_only.push_back(q);
  doc["points"] = prefill_only;
  const MeasuredStepTimes t = MeasuredStepTimes::from_documents({{"prefill only", doc}}, preset_model("tiny"));
  ASSERT_TRUE(t.has_prefill(1));
  ASSERT_FALSE(t.has_decode(1));
  const ModelSpec m = preset_model("tiny");
  const SystemProfile prof = builtin_profile("h100-sxm");
  PerfParams slow;
  slow.step_time_scale_by_tp[1] = 2.0;
  const StepCostModel r1(m, 1, prof, PerfParams{}), r2(m, 1, prof, slow);
  StepShape s;
  s.decode_seqs = 2;
  s.decode_ctx_tokens = 3000;
  s.prefill_tokens = 500;
  const StepCost a = PhasedStepSource(&r1, &t, 0.0).step(s), b = PhasedStepSource(&r2, &t, 0.0, 2.0).step(s);
  ASSERT_GT(a.decode_attn_s, 0);
  EXPECT_NEAR(a.measured_s, P, 1e-12);
  EXPECT_NEAR(b.measured_s, 2 * P, 1e-12);
  EXPECT_NEAR(b.decode_attn_s, 2 * a.decode_attn_s, 1e-15);  // not 4x
  EXPECT_NEAR(b.total_s, 2 * a.total_s, 1e-12);
}

TEST(SimMeasured, ConcurrencyOneReproducesMeasuredStepTimes) {
  const double T = 2e-3, P = 30e-3;
  const MeasuredStepTimes t =
      MeasuredStepTimes::from_documents({{"constant", constant_sweep(T, P)}}, preset_model("tiny"));
  // (stack overhead, TP1's own extra cost, another TP's extra cost that must not apply, TP1's
  // step-time scale, another TP's scale that must not apply)
  for (auto [base, tp1, tp2, k1, k2] : {std::tuple{0.0, 0.0, 0.0, 1.0, 1.0}, {0.5e-3, 0.0, 0.0, 1.0, 1.0},
                                        {0.5e-3, 0.3e-3, 5e-3, 1.0, 1.0}, {0.5e-3, 0.3e-3, 5e-3, 1.25, 3.0}}) {
    const double overhead = base + tp1;
    ServingConfig cfg;
    cfg.concurrency = 1;
    cfg.isl = 1000;  // one chunk (token budget 8192): the prompt is one prefill step
    cfg.osl = 50;
    cfg.measured = &t;
    PerfParams par;
    par.step_overhead_s = base;
    if (tp1 > 0) par.step_overhead_by_tp_s[1] = tp1;
    if (tp2 > 0) par.step_overhead_by_tp_s[2] = tp2;
    if (k1 != 1.0) par.step_time_scale_by_tp[1] = k1;
    if (k2 != 1.0) par.step_time_scale_by_tp[2] = k2;
    const ServingPoint p = simulate_serving(parse_layout("1R-TP1"), preset_model("tiny"),
                                            builtin_profile("h100-sxm"), par, cfg);
    // The engine adds only the serving-stack step overhead: TTFT is the one prefill step
    // (it samples the first token), TPOT one decode step.
    // A step-time scale stretches the measured step, not the stack's overhead added to it.
    EXPECT_NEAR(p.ttft_s, k1 * P + overhead, 0.01 * (k1 * P + overhead));
    EXPECT_NEAR(p.tpot_s, k1 * T + overhead, 0.01 * (k1 * T + overhead));
    EXPECT_NEAR(p.e2e_s, p.ttft_s + 49 * p.tpot_s, 1e-9);
    EXPECT_EQ(p.step_time_source, StepTimeOrigin::Measured);
    EXPECT_FALSE(p.emulated);
    EXPECT_EQ(p.main.stats.outside_measured_steps, 0.0);
    EXPECT_NEAR(p.main.stats.measured_s + p.main.stats.overhead_s, p.main.stats.busy_s, 1e-9);
  }
}

ServingPoint sim_fixture(const MeasuredStepTimes& t, const std::string& layout) {
  ServingConfig cfg;
  cfg.concurrency = 4;
  cfg.isl = 600;
  cfg.osl = 20;
  cfg.prompts_per_user = 2;
  cfg.measured = &t;
  return simulate_serving(parse_layout(layout), preset_model("tiny"), builtin_profile("h100-sxm"), PerfParams{}, cfg);
}

TEST(SimMeasured, FallsBackToRooflinePerPhaseAndSaysSo) {
  const MeasuredStepTimes t = fixture();
  const ServingPoint tp1 = sim_fixture(t, "1R-TP1");
  EXPECT_EQ(tp1.step_time_source, StepTimeOrigin::Measured);
  const ServingPoint tp2 = sim_fixture(t, "1R-TP2");  // decode measured (emulated), prefill not
  EXPECT_EQ(tp2.step_time_source, StepTimeOrigin::Mixed);
  EXPECT_EQ(tp2.main.decode_source, StepTimeOrigin::Measured);
  EXPECT_EQ(tp2.main.prefill_source, StepTimeOrigin::Roofline);
  EXPECT_TRUE(tp2.emulated);
  const ServingPoint tp4 = sim_fixture(t, "1R-TP4");  // nothing measured at TP4
  EXPECT_EQ(tp4.step_time_source, StepTimeOrigin::Roofline);
  EXPECT_FALSE(tp4.emulated);
  EXPECT_EQ(tp4.main.stats.measured_s, 0.0);
  const ServingPoint pd = sim_fixture(t, "1P-TP1 1D-TP2");  // each pool runs one measured phase
  EXPECT_EQ(pd.step_time_source, StepTimeOrigin::Measured);
  EXPECT_TRUE(pd.emulated);
  EXPECT_EQ(pd.prefill.decode_source, std::nullopt);  // a prefill pool never decodes
  EXPECT_EQ(sim_fixture(t, "1P-TP2 1D-TP1").step_time_source, StepTimeOrigin::Mixed);
  const nlohmann::json j = point_to_json(tp2);
  EXPECT_EQ(j["step_time_source"], "mixed");
  EXPECT_EQ(j["emulated"], true);
  EXPECT_EQ(j["breakdown"]["replicas"]["prefill_step_time_source"], "roofline");
  // Without tables every point is the roofline's, as before.
  ServingConfig cfg;
  cfg.concurrency = 2;
  cfg.isl = 600;
  cfg.osl = 20;
  EXPECT_EQ(simulate_serving(parse_layout("1R-TP1"), preset_model("tiny"), builtin_profile("h100-sxm"),
                             PerfParams{}, cfg).step_time_source, StepTimeOrigin::Roofline);
}

void expect_rejected(const nlohmann::json& doc, const std::string& model = "tiny", const std::string& plan = "") {
  try {
    MeasuredStepTimes::from_documents({{"doc", doc}}, preset_model(model), plan);
    ADD_FAILURE() << "accepted: " << doc.dump().substr(0, 200);
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(SimMeasured, MalformedFilesRejected) {
  const std::string bad = ::testing::TempDir() + "/not_json.json";
  std::ofstream(bad) << "{\"schema\": \"tpbench.result/1\", \"points\": [";
  EXPECT_THROW(MeasuredStepTimes::from_files({bad}, preset_model("tiny")), UsageError);
  EXPECT_THROW(MeasuredStepTimes::from_files({::testing::TempDir() + "/missing.json"}, preset_model("tiny")), UsageError);
  const nlohmann::json good = read_json_file(kFixture);
  nlohmann::json d = good;
  d["schema"] = "tpbench.prediction/1";
  expect_rejected(d);
  d = good;
  d["points"][0]["tp"] = "two";
  expect_rejected(d);
  d = good;
  d["points"][0]["step_time_s"].erase("median");
  expect_rejected(d);
  d = good;
  d["points"][0]["phase"] = "train";
  expect_rejected(d);
  // Counts that a cast to int would truncate (2^32 + 1 to TP 1) or convert with undefined
  // behaviour (1e300), and fractions.
  for (const nlohmann::json& tp : {nlohmann::json(4294967297LL), nlohmann::json(1e300), nlohmann::json(1.5)}) {
    d = good;
    d["points"][0]["tp"] = tp;
    expect_rejected(d);
  }
  d = good;
  d["points"][0]["context"] = -1e300;
  expect_rejected(d);
  d = good;
  d.erase("points");
  expect_rejected(d);
  d = good;
  d["points"] = nlohmann::json::array();
  expect_rejected(d);                        // nothing measured
  expect_rejected(good, "llama-3.1-70b");     // another model
  expect_rejected(good, "tiny", "weight-gather");  // no such plan in the file
  expect_rejected(nlohmann::json::array());
}

}  // namespace
}  // namespace tpbench
