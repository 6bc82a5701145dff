// compare on a fixture with known errors; the fit recovering known parameters from synthetic
// data; the Nelder-Mead minimizer on a known function.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "harness/common/error.hpp"
#include "harness/observations/compare.hpp"
#include "harness/fit/fit.hpp"
#include "harness/fit/nelder_mead.hpp"
#include "harness/observations/observations.hpp"
#include "harness/fit/symmetric_eigen.hpp"

namespace tpbench {
namespace {
namespace fs = std::filesystem;

std::string write_tmp(const std::string& name, const std::string& text) {
  const fs::path p = fs::temp_directory_path() / ("tpbench_compare_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p.string();
}

TEST(CompareMape, FixtureWithKnownErrors) {
  const std::string ref = write_tmp("ref.csv",
                                    "config,concurrency,num_gpus,output_tok_s,thpt_per_gpu,thpt_per_user_outdiv_conc\n"
                                    "1R-TP4,1,4,20,10,20\n"
                                    "1R-TP4,8,4,160,40,20\n"
                                    "\"2P-TP4 1D-TP8\",1,16,64,4,64\n");
  const std::string pred = write_tmp("pred.json", R"({"schema": "tpbench.prediction/1", "points": [
    {"layout": "1R-TP4", "concurrency": 1, "tokens_per_s_per_gpu": 11, "per_user_out_div_conc": 18},
    {"layout": "1R-TP4", "concurrency": 8, "tokens_per_s_per_gpu": 30, "per_user_out_div_conc": 20},
    {"layout": "1R-TP8", "concurrency": 8, "tokens_per_s_per_gpu": 30, "per_user_out_div_conc": 30}]})");
  const Comparison c = compare_observations(read_observations(ref), read_observations(pred), "");
  EXPECT_EQ(c.per_user_def, PerUserMetric::OutDivConc);
  ASSERT_EQ(c.points.size(), 2u);
  // GPU: |11-10|/10 = 10 %, |30-40|/40 = 25 % -> 17.5 %. User (the columns as given; the C=8
  // prediction's per-user rate is deliberately not its tok/s/GPU x 4 / 8): 10 % and 0 % -> 5 %.
  EXPECT_NEAR(c.mape_gpu, 17.5, 1e-9);
  EXPECT_NEAR(c.mape_user, 5.0, 1e-9);
  ASSERT_EQ(c.configs.size(), 1u);
  EXPECT_NEAR(c.configs[0].efficiency_gpu, (10.0 / 11 + 40.0 / 30) / 2, 1e-12);
  EXPECT_EQ(c.unmatched.size(), 1u);  // the PD row has no model point
  const auto j = comparison_to_json(c);
  EXPECT_NEAR(j["mape_tokens_per_s_per_gpu"].get<double>(), 17.5, 1e-9);
  EXPECT_NEAR(j["mape_tokens_per_s_per_user"].get<double>(), 5.0, 1e-9);
  // 40 measured vs 30 modelled at C=8 is 1.33x above the model: flagged; 10 vs 11 is not.
  ASSERT_EQ(j["points_above_model"].size(), 1u);
  EXPECT_EQ(j["points_above_model"][0]["concurrency"], 8);
  EXPECT_NEAR(j["points_above_model"][0]["reference_over_model"].get<double>(), 40.0 / 30, 1e-12);
  EXPECT_NE(comparison_table(c, false).find("1R-TP4 C=8"), std::string::npos);
}

// Without a per-user column, the reference's per-user rate is llm-d's definition, output tok/s /
// concurrency, from output_tok_s or from tok/s/GPU x num_gpus: 1R-TP4 at C=8 with 160 tok/s is
// 20 tok/s/user, and 2R-TP4 at C=16 with 30 tok/s/GPU on 8 GPUs is 15. Against predictions of
// 18 and 12 that is 10 % and 20 %: 15 % (the tok/s/GPU errors, 0 % and 10 %, differ on purpose).
TEST(CompareMape, PerUserIsOutputOverConcurrencyWithoutItsColumn) {
  const std::string ref = write_tmp("ref_no_user.csv", "config,concurrency,num_gpus,output_tok_s,thpt_per_gpu\n"
                                                       "1R-TP4,8,4,160,\n"
                                                       "2R-TP4,16,8,,30\n");
  const std::string pred = write_tmp("pred_user.json", R"({"schema": "tpbench.prediction/1", "points": [
    {"layout": "1R-TP4", "concurrency": 8, "tokens_per_s_per_gpu": 40, "per_user_out_div_conc": 18},
    {"layout": "2R-TP4", "concurrency": 16, "tokens_per_s_per_gpu": 33, "per_user_out_div_conc": 12}]})");
  const Comparison c = compare_observations(read_observations(ref), read_observations(pred), "");
  EXPECT_EQ(c.per_user_def, PerUserMetric::OutDivConc);
  ASSERT_EQ(c.points.size(), 2u);
  EXPECT_NEAR(c.points[0].ref_user, 20.0, 1e-12);
  EXPECT_NEAR(c.points[1].ref_user, 15.0, 1e-12);
  EXPECT_NEAR(c.mape_user, 15.0, 1e-9);
  EXPECT_NEAR(c.mape_gpu, 5.0, 1e-9);
}

// A prediction point that cannot run (does not fit) is neither matched silently away nor
// scored: it is listed as not runnable, apart from the MAPE (here only the C=1 point counts:
// |11-10|/10 = 10 %).
TEST(CompareMape, NotRunnableModelPointsAreListedNotScored) {
  const std::string ref = write_tmp("ref2.csv", "config,concurrency,thpt_per_gpu\n1R-TP4,1,10\n1R-TP4,8,40\n");
  const std::string pred = write_tmp("pred2.json", R"({"schema": "tpbench.prediction/1", "points": [
    {"layout": "1R-TP4", "concurrency": 1, "tokens_per_s_per_gpu": 11, "per_user_out_div_conc": 18},
    {"layout": "1R-TP4", "concurrency": 8, "feasible": false, "reason": "does not fit"}]})");
  const Comparison c = compare_observations(read_observations(ref), read_observations(pred), "");
  ASSERT_EQ(c.points.size(), 1u);
  EXPECT_NEAR(c.mape_gpu, 10.0, 1e-9);
  ASSERT_EQ(c.not_runnable.size(), 1u);
  EXPECT_EQ(c.not_runnable[0], "1R-TP4 @8: does not fit");
  EXPECT_TRUE(c.unmatched.empty());
  EXPECT_EQ(comparison_to_json(c)["not_runnable"].size(), 1u);
  EXPECT_NE(comparison_table(c, false).find("1 reference points the model cannot run"), std::string::npos);
}

TEST(CompareReaders, SweepJsonIsMeasuredSide) {
  const std::string sweep = write_tmp("sweep.json", R"({"schema": "tpbench.result/1", "points": [
    {"plan": "tp", "tp": 4, "batch": 8, "phase": "decode", "emulated": true,
     "step_time_s": {"median": 0.02, "p10": 0.019, "p90": 0.021, "mean": 0.02, "stdev": 0.001, "count": 9}},
    {"plan": "tp-sp", "tp": 4, "batch": 8, "phase": "decode", "step_time_s": {"median": 0.5}}]})");
  const ObservationSet s = read_observations(sweep);
  ASSERT_EQ(s.points.size(), 1u);  // plan tp only
  EXPECT_EQ(s.points[0].config, "1R-TP4");
  EXPECT_NEAR(s.points[0].tokens_per_s_per_gpu, 8 / (0.02 * 4), 1e-9);
  EXPECT_NEAR(s.points[0].per_user_inv_tpot, 50.0, 1e-9);
  EXPECT_TRUE(s.points[0].emulated);
}

// The same (TP, batch) at two contexts: refused without a choice (file order must not decide),
// and --sweep-context picks one: 8 / (0.05 x 4) = 40 tok/s/GPU at context 11000.
TEST(CompareReaders, SweepWithSeveralContextsNeedsAChoice) {
  const std::string sweep = write_tmp("sweep2.json", R"({"schema": "tpbench.result/1", "points": [
    {"plan": "tp", "tp": 4, "batch": 8, "phase": "decode", "context": 128, "step_time_s": {"median": 0.02}},
    {"plan": "tp", "tp": 4, "batch": 8, "phase": "decode", "context": 11000, "step_time_s": {"median": 0.05}}]})");
  EXPECT_THROW(read_observations(sweep), UsageError);
  const ObservationSet s = read_observations(sweep, SweepSelection{11000, "", ""});
  ASSERT_EQ(s.points.size(), 1u);
  EXPECT_NEAR(s.points[0].tokens_per_s_per_gpu, 40.0, 1e-9);
  EXPECT_THROW(read_observations(sweep, SweepSelection{4096, "", ""}), UsageError);  // no point at that context
}

// Plans and overlaps: the one vLLM runs (tp, none) when measured, else the only one, else a
// choice is required; a choice that was not measured is refused. Each picked point is told
// apart by its step time: 8 / (t x 4) tok/s/GPU.
TEST(CompareReaders, SweepPlanAndOverlapAreChosenNotTakenByFileOrder) {
  auto point = [](const char* plan, const char* overlap, double t) {
    return std::string(R"({"tp": 4, "batch": 8, "phase": "decode", "context": 1024, "plan": ")") + plan +
           R"(", "overlap": ")" + overlap + R"(", "step_time_s": {"median": )" + std::to_string(t) + "}}";
  };
  auto sweep = [&](const std::string& name, const std::vector<std::string>& pts) {
    std::string body;
    for (const auto& p : pts) body += (body.empty() ? "" : ",") + p;
    return write_tmp(name, R"({"schema": "tpbench.result/1", "points": [)" + body + "]}");
  };
  auto gpu = [](const ObservationSet& s) { return s.points.at(0).tokens_per_s_per_gpu; };
  // streams first in the file, none preferred.
  const std::string a = sweep("ov1.json", {point("tp", "streams", 0.04), point("tp", "none", 0.05)});
  EXPECT_NEAR(gpu(read_observations(a)), 40.0, 1e-9);
  EXPECT_NEAR(gpu(read_observations(a, SweepSelection{0, "", "streams"})), 50.0, 1e-9);
  EXPECT_EQ(read_observations(a).selection, "plan tp, overlap none");
  // Neither overlap is vLLM's: refused until one is chosen.
  const std::string b = sweep("ov2.json", {point("tp", "streams", 0.04), point("tp", "split", 0.02)});
  EXPECT_THROW(read_observations(b), UsageError);
  EXPECT_NEAR(gpu(read_observations(b, SweepSelection{0, "", "split"})), 100.0, 1e-9);
  EXPECT_THROW(read_observations(b, SweepSelection{0, "", "none"}), UsageError);  // not measured
  // No tp plan: the only other one is taken; two others need a choice.
  const std::string c = sweep("pl1.json", {point("weight-gather", "none", 0.08)});
  EXPECT_NEAR(gpu(read_observations(c)), 25.0, 1e-9);
  const std::string d = sweep("pl2.json", {point("weight-gather", "none", 0.08), point("tp-sp", "none", 0.04)});
  EXPECT_THROW(read_observations(d), UsageError);
  EXPECT_NEAR(gpu(read_observations(d, SweepSelection{0, "tp-sp", ""})), 50.0, 1e-9);
  EXPECT_THROW(read_observations(d, SweepSelection{0, "tp", ""}), UsageError);
  // The context is chosen first: tp was measured at 1024 only, weight-gather at 11000 only, so
  // context 11000 takes weight-gather (0.08 s: 25 tok/s/GPU), and an unmeasured context is refused.
  std::string e_text = point("tp", "none", 0.04) + "," + point("weight-gather", "none", 0.08);
  e_text.replace(e_text.rfind("1024"), 4, "11000");
  const std::string e = write_tmp("ctx.json", R"({"schema": "tpbench.result/1", "points": [)" + e_text + "]}");
  EXPECT_NEAR(gpu(read_observations(e, SweepSelection{11000, "", ""})), 25.0, 1e-9);
  EXPECT_NEAR(gpu(read_observations(e, SweepSelection{1024, "", ""})), 50.0, 1e-9);
  EXPECT_THROW(read_observations(e, SweepSelection{4096, "", ""}), UsageError);
  // A choice with no sweep to choose in is refused, not ignored.
  ObservationSet csv;
  csv.kind = ObservationKind::ReferenceCsv;
  EXPECT_THROW(check_selection_used(SweepSelection{0, "tp-sp", ""}, {&csv}), UsageError);
  EXPECT_NO_THROW(check_selection_used(SweepSelection{}, {&csv}));
}

// Long on purpose: one line per malformed input, each independent of the others.
TEST(CompareReaders, MalformedInputsAreUsageErrors) {
  EXPECT_THROW(read_observations(write_tmp("a.csv", "config,concurrency\n1R-TP4,1\n")), UsageError);  // no throughput
  EXPECT_THROW(read_observations(write_tmp("b.csv", "config,concurrency,thpt_per_gpu\n1R-TP4,x,3\n")), UsageError);
  EXPECT_THROW(read_observations(write_tmp("c.csv", "config,concurrency,thpt_per_gpu\n1R-TP4,1\n")), UsageError);
  EXPECT_THROW(read_observations(write_tmp("d.csv", "config,concurrency,thpt_per_gpu\nTPX,1,3\n")), UsageError);
  EXPECT_THROW(read_observations(write_tmp("e.json", "{not json")), UsageError);
  EXPECT_THROW(read_observations(write_tmp("f.json", R"({"schema": "x/1", "points": []})")), UsageError);
  EXPECT_THROW(read_observations("/nonexistent/file.csv"), UsageError);
  // Counts that are not whole numbers in range: a cast would convert 1e300 with undefined
  // behaviour, and take 2.5 GPUs as 2.
  EXPECT_THROW(read_observations(write_tmp("g.json", R"({"schema": "tpbench.result/1", "points": [
    {"tp": 4, "batch": 8, "phase": "decode", "context": 1e300, "step_time_s": {"median": 0.02}}]})")), UsageError);
  EXPECT_THROW(read_observations(write_tmp("h.json", R"({"schema": "tpbench.prediction/1", "points": [
    {"layout": "1R-TP4", "concurrency": 8, "num_gpus": 2.5, "tokens_per_s_per_gpu": 10}]})")), UsageError);
}

TEST(FitNelderMead, FindsMinimumOfShiftedQuadratic) {
  const auto r = nelder_mead([](const std::vector<double>& x) { return (x[0] - 3) * (x[0] - 3) + 2 * (x[1] + 1) * (x[1] + 1); },
                             {0, 0}, {1, 1}, 500, 1e-14);
  EXPECT_NEAR(r.x[0], 3.0, 1e-3);
  EXPECT_NEAR(r.x[1], -1.0, 1e-3);
}

// The simulator's own prediction under `truth` at these configurations and concurrencies: a
// reference whose true parameters are known.
ObservationSet synthetic_reference(const PerfParams& truth, std::initializer_list<const char*> configs,
                                   std::initializer_list<int> concurrencies) {
  ObservationSet want;
  for (const char* cfg : configs)
    for (int c : concurrencies) {
      Observation o;
      o.config = cfg;
      o.concurrency = c;
      want.points.push_back(o);
    }
  ObservationSet ref = simulate_observations(want, preset_model("llama-3.1-70b"), builtin_profile("h100-sxm"), truth,
                                             10000, 1000, {});
  ref.origin = "synthetic";
  ref.per_user_def = PerUserMetric::OutDivConc;
  return ref;
}

TEST(FitCalibration, RecoversKnownParametersFromSyntheticData) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  PerfParams truth;
  truth.hbm_efficiency = 0.8;
  truth.step_overhead_s = 3e-3;
  const ObservationSet ref = synthetic_reference(truth, {"1R-TP2", "1R-TP4", "1R-TP8"}, {1, 8, 32});
  FitSpec spec;
  spec.params = {"hbm_efficiency", "step_overhead_s"};
  spec.train = {"1R-TP2", "1R-TP4"};
  spec.max_evals = 300;
  const FitResult r = fit_parameters(ref, m, prof, PerfParams{}, spec);
  EXPECT_NEAR(r.fitted.hbm_efficiency, 0.8, 0.8 * 0.03);
  EXPECT_NEAR(r.fitted.step_overhead_s, 3e-3, 3e-3 * 0.05);
  EXPECT_LT(r.heldout_aggregated_mape_gpu, 2.0);  // 1R-TP8 held out, same truth
  EXPECT_TRUE(std::isnan(r.heldout_pd_mape_gpu));
  spec.params = {"hbm_efficiency", "step_overhead_s", "collective_scale", "compute_efficiency", "memory_reserve_gib"};
  EXPECT_THROW(fit_parameters(ref, m, prof, PerfParams{}, spec), UsageError);  // more than four
  spec.params = {"hbm_efficiency"};
  spec.train = {"4R-TP4"};
  EXPECT_THROW(fit_parameters(ref, m, prof, PerfParams{}, spec), UsageError);  // not in the reference
}

// The default four parameters at once, from a truth that moves each of them off its
// speed-of-light value: trained on all three TPs (the per-step cost and the per-hop latency
// then differ in how they grow with TP) at concurrencies from the weight-bound C=1 to the
// compute-bound C=64, the fit recovers every one.
TEST(FitCalibration, RecoversTheDefaultFourParameters) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  PerfParams truth;
  truth.hbm_efficiency = 0.8;
  truth.compute_efficiency = 0.75;
  truth.step_overhead_s = 2e-3;
  truth.collective_hop_latency_s = 4e-6;
  const ObservationSet ref = synthetic_reference(truth, {"1R-TP2", "1R-TP4", "1R-TP8"}, {1, 8, 64});
  FitSpec spec;  // the default parameter set
  ASSERT_EQ(spec.params.size(), 4u);
  spec.train = {"1R-TP2", "1R-TP4", "1R-TP8"};
  spec.explore_ridge = false;
  const FitResult r = fit_parameters(ref, m, prof, PerfParams{}, spec);
  EXPECT_TRUE(r.converged);
  EXPECT_FALSE(r.identifiability.ridge);
  EXPECT_NEAR(r.fitted.hbm_efficiency, 0.8, 0.8 * 0.03);
  EXPECT_NEAR(r.fitted.compute_efficiency, 0.75, 0.75 * 0.05);
  EXPECT_NEAR(r.fitted.step_overhead_s, 2e-3, 2e-3 * 0.1);
  EXPECT_NEAR(r.fitted.collective_hop_latency_s, 4e-6, 4e-6 * 0.1);
}

// Synthetic truth with a stack that only TP8 pays (8 ms per step, steps 1.3x the hardware's):
// trained on TP8 alone, the fit recovers that TP's scale and cost; trained on TP2 and TP4 with
// global parameters, the held-out error splits by TP into a TP4 replica that the truth treats
// like the training (near 0) and a TP8 one that it does not (far off).
TEST(FitCalibration, PerTpStackIsRecoveredAndShowsInTheHeldOutSplit) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  PerfParams truth;
  truth.step_overhead_by_tp_s[8] = 8e-3;
  truth.step_time_scale_by_tp[8] = 1.3;
  const ObservationSet ref = synthetic_reference(truth, {"1R-TP2", "1R-TP4", "2R-TP4", "1R-TP8"}, {1, 8, 32});
  FitSpec spec;
  spec.params = {"step_time_scale_tp8", "step_overhead_tp8_s"};
  spec.train = {"1R-TP8"};
  spec.max_evals = 300;
  FitResult r = fit_parameters(ref, m, prof, PerfParams{}, spec);
  EXPECT_NEAR(get_param(r.fitted, "step_time_scale_tp8"), 1.3, 1.3 * 0.03);
  EXPECT_NEAR(get_param(r.fitted, "step_overhead_tp8_s"), 8e-3, 8e-3 * 0.1);
  // The other TPs run at the hardware's speed in the truth and in the fit: this only checks that
  // nothing of TP8's stack leaks into them.
  EXPECT_LT(r.heldout_aggregated_by_tp.at(4).first, 0.5);
  EXPECT_EQ(r.heldout_aggregated_by_tp.at(4).second, 2);

  spec.params = {"hbm_efficiency", "step_overhead_s"};
  spec.train = {"1R-TP2", "1R-TP4"};
  r = fit_parameters(ref, m, prof, PerfParams{}, spec);
  ASSERT_EQ(r.heldout_aggregated_by_tp.size(), 2u);  // 2R-TP4 and 1R-TP8 held out
  EXPECT_LT(r.heldout_aggregated_by_tp.at(4).first, 2.0);
  EXPECT_EQ(r.heldout_aggregated_by_tp.at(4).second, 1);
  EXPECT_GT(r.heldout_aggregated_by_tp.at(8).first, 20.0);
  // Each configuration has three points, so the overall figure is the mean of the two.
  EXPECT_NEAR(r.heldout_aggregated_mape_gpu,
              (r.heldout_aggregated_by_tp.at(4).first + r.heldout_aggregated_by_tp.at(8).first) / 2, 1e-9);
}

// Synthetic truth: 2 ms per step, no hop latency. On TP4 alone a per-step cost and a per-hop
// collective latency are the same thing (both a constant per step: 160 all-reduces x 6 hops), so
// the fit must report a ridge between them; with TP2 beside TP4 (2 hops vs 6) they separate, the
// fit must not report one, and it must find the truth.
TEST(FitCalibration, ReportsTheStepOverheadHopLatencyRidgeOnOneTp) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  PerfParams truth;
  truth.step_overhead_s = 2e-3;
  truth.collective_hop_latency_s = 1e-6;
  const ObservationSet ref = synthetic_reference(truth, {"1R-TP2", "1R-TP4"}, {1, 8, 32});
  FitSpec spec;
  spec.params = {"step_overhead_s", "collective_hop_latency_s"};
  spec.train = {"1R-TP4"};
  const FitResult one = fit_parameters(ref, m, prof, PerfParams{}, spec);
  EXPECT_TRUE(one.converged);
  ASSERT_EQ(one.identifiability.params.size(), 2u);
  EXPECT_TRUE(one.identifiability.ridge) << one.identifiability.weakest_over_strongest;
  // The weak direction mixes both (neither component negligible), with opposite signs: more of
  // one, less of the other.
  const auto& d = one.identifiability.directions.back();
  EXPECT_GT(std::fabs(d[0]), 0.2);
  EXPECT_GT(std::fabs(d[1]), 0.2);
  EXPECT_LT(d[0] * d[1], 0);

  // Along the ridge, derived by hand: TP4 pays (2 x 80 + 1) all-reduces x 2(4 - 1) ring steps +
  // (4 - 1) for the logits gather = 969 hop latencies per step, so the training points see only
  // K = s + 969 h = 2.969 ms. Every refit along the ridge must keep s + 969 h = K, and its two
  // ends are s = K (h pinned at 0) and h = K / 969 (s pinned at 0).
  const double K = 2e-3 + 969 * 1e-6;
  ASSERT_EQ(one.ridge.size(), size_t(RidgePoint::kPoints)) << one.ridge_not_explored;
  EXPECT_EQ(std::set<std::string>(std::begin(one.ridge_pair), std::end(one.ridge_pair)),
            (std::set<std::string>{"step_overhead_s", "collective_hop_latency_s"}));
  std::vector<double> agg;
  for (const RidgePoint& q : one.ridge) {
    PerfParams p;
    set_param(p, q.pinned, q.pinned_value);
    ASSERT_EQ(q.values.size(), 1u) << q.pinned;
    set_param(p, q.values[0].first, q.values[0].second);
    EXPECT_TRUE(q.on_ridge) << q.position << " " << q.objective;
    EXPECT_NEAR(p.step_overhead_s + 969 * p.collective_hop_latency_s, K, K * 0.03) << q.position;
    if (q.position == 0.0 || q.position == 1.0) EXPECT_EQ(q.pinned_value, 0.0) << q.position;
    agg.push_back(q.heldout_aggregated_mape_gpu);
  }
  // Held-out TP2 pays 323 hops: 2.97 ms per step at the all-per-step end, 0.99 ms at the
  // all-per-hop end, against the truth's 2.32 ms, so both ends are visibly wrong there although
  // both fit TP4 exactly; the truth (h = 1 us, a third of the way to K / 969) lies inside, so some
  // interior refit must beat both ends: a held-out error is not monotone along a ridge.
  EXPECT_GT(agg.front(), 1.0);
  EXPECT_GT(agg.back(), 1.0);
  EXPECT_LT(*std::min_element(agg.begin() + 1, agg.end() - 1), std::min(agg.front(), agg.back()));

  spec.train = {"1R-TP2", "1R-TP4"};
  const FitResult two = fit_parameters(ref, m, prof, PerfParams{}, spec);
  EXPECT_TRUE(two.converged);
  EXPECT_FALSE(two.identifiability.ridge) << two.identifiability.weakest_over_strongest;
  EXPECT_NEAR(two.fitted.step_overhead_s, 2e-3, 2e-3 * 0.05);
  EXPECT_NEAR(two.fitted.collective_hop_latency_s, 1e-6, 1e-6 * 0.1);
  EXPECT_TRUE(two.ridge.empty());  // nothing to follow
}

// A reference 1000x slower than anything the model can be made to do pushes step_overhead_s to
// its 10 s cap: the fit must finish and say the parameter is at a bound (its identifiability
// probe would otherwise step past the cap).
TEST(FitCalibration, ParameterAtItsUpperCapIsReportedNotProbed) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  ObservationSet ref = synthetic_reference(PerfParams{}, {"1R-TP4"}, {1, 8, 32});
  for (auto& o : ref.points) {
    o.tokens_per_s_per_gpu /= 1000;
    o.per_user_out_div_conc /= 1000;
  }
  FitSpec spec;
  spec.params = {"step_overhead_s", "hbm_efficiency"};
  FitResult r;
  ASSERT_NO_THROW(r = fit_parameters(ref, m, prof, PerfParams{}, spec));
  EXPECT_GT(r.fitted.step_overhead_s, 9.0);
  EXPECT_NE(std::find(r.identifiability.at_bound.begin(), r.identifiability.at_bound.end(), "step_overhead_s"),
            r.identifiability.at_bound.end());
}

// A prediction used as the reference may hold points it could not run: compare lists them, fit
// leaves them out; neither turns them into NaN errors.
TEST(CompareMape, NotRunnableReferencePointsAreListed) {
  const std::string ref = write_tmp("ref3.json", R"({"schema": "tpbench.prediction/1", "points": [
    {"layout": "1R-TP4", "concurrency": 1, "tokens_per_s_per_gpu": 10, "per_user_out_div_conc": 40},
    {"layout": "1R-TP4", "concurrency": 8, "feasible": false, "reason": "does not fit"}]})");
  const std::string pred = write_tmp("pred3.json", R"({"schema": "tpbench.prediction/1", "points": [
    {"layout": "1R-TP4", "concurrency": 1, "tokens_per_s_per_gpu": 11, "per_user_out_div_conc": 44},
    {"layout": "1R-TP4", "concurrency": 8, "tokens_per_s_per_gpu": 30, "per_user_out_div_conc": 15}]})");
  const Comparison c = compare_observations(read_observations(ref), read_observations(pred), "");
  ASSERT_EQ(c.points.size(), 1u);
  EXPECT_NEAR(c.mape_gpu, 10.0, 1e-9);
  ASSERT_EQ(c.not_runnable.size(), 1u);
  EXPECT_NE(c.not_runnable[0].find("reference"), std::string::npos);
}

TEST(FitNelderMead, SaysWhetherItConvergedOrRanOutOfBudget) {
  auto f = [](const std::vector<double>& x) { return (x[0] - 1) * (x[0] - 1) + 10 * (x[1] + 2) * (x[1] + 2); };
  EXPECT_TRUE(nelder_mead(f, {0, 0}, {0.5, 0.5}, 2000).converged);
  EXPECT_FALSE(nelder_mead(f, {0, 0}, {0.5, 0.5}, 6).converged);
}

TEST(FitSymmetricEigen, HandDerivedTwoByTwoAndThreeByThree) {
  // [[2,1],[1,2]]: eigenvalues 3 and 1, eigenvectors (1,1)/sqrt2 and (1,-1)/sqrt2.
  const SymmetricEigen e = symmetric_eigen({{2, 1}, {1, 2}});
  ASSERT_EQ(e.values.size(), 2u);
  EXPECT_NEAR(e.values[0], 3, 1e-12);
  EXPECT_NEAR(e.values[1], 1, 1e-12);
  EXPECT_NEAR(std::fabs(e.vectors[0][0]), std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(e.vectors[0][0], e.vectors[0][1], 1e-12);
  EXPECT_NEAR(e.vectors[1][0], -e.vectors[1][1], 1e-12);
  // [[4,-2,0],[-2,4,0],[0,0,5]]: the 2x2 block has 6 and 2, and 5 stands alone.
  const SymmetricEigen g = symmetric_eigen({{4, -2, 0}, {-2, 4, 0}, {0, 0, 5}});
  EXPECT_NEAR(g.values[0], 6, 1e-12);
  EXPECT_NEAR(g.values[1], 5, 1e-12);
  EXPECT_NEAR(g.values[2], 2, 1e-12);
  EXPECT_NEAR(std::fabs(g.vectors[1][2]), 1, 1e-12);
  EXPECT_NEAR(g.vectors[0][0], -g.vectors[0][1], 1e-12);
}

}  // namespace
}  // namespace tpbench
