// tpbench recommend's concurrency search against curves whose answer is known in closed form, and
// against an exhaustive scan of the simulator.
#include <gtest/gtest.h>

#include "harness/recommend/concurrency_search.hpp"

namespace tpbench {
namespace {

// A synthetic layout: TPOT = 10 ms + 1 ms x C, TTFT = 0.1 s x C, on 4 GPUs.
ServingPoint linear_point(int c) {
  ServingPoint p;
  p.layout = "1R-TP4";
  p.concurrency = c;
  p.num_gpus = 4;
  p.tpot_s = 0.010 + 0.001 * c;
  p.ttft_s = 0.1 * c;
  p.per_user_inv_tpot = 1.0 / p.tpot_s;
  p.per_user_out_div_conc = p.per_user_inv_tpot / 2;
  p.tokens_per_s_per_gpu = c / (p.tpot_s * 4);
  return p;
}

// TPOT <= 50.5 ms holds up to C = 40; TTFT <= 3.05 s up to 30; tok/s/user >= 24.9 (TPOT <= 40.16 ms) up to
// 30. (Targets sit between two concurrencies' values, clear of rounding.)
TEST(RecommendSearch, LinearCurveByHand) {
  int calls = 0;
  auto sim = [&](int c) { ++calls; return linear_point(c); };
  Targets t;
  t.tpot_s = 0.0505;
  SearchResult r = search_concurrency(sim, t, 256);
  EXPECT_EQ(r.max_meeting_concurrency, 40);
  EXPECT_EQ(r.first_missing_concurrency, 41);
  ASSERT_GE(r.best, 0);
  EXPECT_EQ(r.points[size_t(r.best)].concurrency, 40);
  EXPECT_TRUE(r.monotonicity_notes.empty());
  // The doubling grid 1..256 (9 points) and a bisection of (32, 64): 5 more.
  EXPECT_LE(calls, 14);
  t.ttft_s = 3.05;
  EXPECT_EQ(search_concurrency(sim, t, 256).max_meeting_concurrency, 30);
  Targets u;
  u.min_tokens_per_user = 24.9;
  EXPECT_EQ(search_concurrency(sim, u, 256).max_meeting_concurrency, 30);
  u.per_user = PerUserMetric::OutDivConc;  // half of 1/TPOT here: >= 24.9 needs TPOT <= 20.08 ms, C <= 10
  EXPECT_EQ(search_concurrency(sim, u, 256).max_meeting_concurrency, 10);
}

TEST(RecommendSearch, CapAndNothingMet) {
  auto sim = [](int c) { return linear_point(c); };
  const SearchResult none = search_concurrency(sim, Targets{}, 100);
  EXPECT_EQ(none.max_meeting_concurrency, 100);
  EXPECT_EQ(none.first_missing_concurrency, 0);
  Targets t;
  t.tpot_s = 0.005;  // below the 11 ms of C = 1
  const SearchResult miss = search_concurrency(sim, t, 100);
  EXPECT_EQ(miss.max_meeting_concurrency, 0);
  EXPECT_EQ(miss.best, -1);
  EXPECT_EQ(miss.first_missing_concurrency, 1);
  EXPECT_EQ(worst_target(miss.points.front(), t).kind, TargetKind::Tpot);
  EXPECT_NEAR(worst_target(miss.points.front(), t).ratio, 0.011 / 0.005, 1e-12);
}

// A curve that breaks the assumption (C = 4 slower than C = 8) is reported, not hidden.
TEST(RecommendSearch, NonMonotoneCurveIsReported) {
  auto sim = [](int c) {
    ServingPoint p = linear_point(c);
    if (c == 4) p.tpot_s = 0.1;
    return p;
  };
  Targets t;
  t.tpot_s = 0.0505;
  const SearchResult r = search_concurrency(sim, t, 256);
  EXPECT_EQ(r.max_meeting_concurrency, 40);
  ASSERT_FALSE(r.monotonicity_notes.empty());
  bool named = false;
  for (const auto& n : r.monotonicity_notes) named = named || n.find("C=4") != std::string::npos;
  EXPECT_TRUE(named);
  // A dip in a metric no target names cannot mislead the search: not reported.
  auto ttft_dip = [](int c) {
    ServingPoint p = linear_point(c);
    if (c == 4) p.ttft_s = 10;
    return p;
  };
  EXPECT_TRUE(search_concurrency(ttft_dip, t, 256).monotonicity_notes.empty());
  t.ttft_s = 100;
  EXPECT_FALSE(search_concurrency(ttft_dip, t, 256).monotonicity_notes.empty());
}

TEST(RecommendSearch, SaturationStopsTheGrid) {
  ServingPoint p;
  p.concurrency = 12;
  p.main.kv_max_sequences = 3;
  p.main.instances = 2;
  p.main.stats.busy_s = 10;
  p.main.stats.decode_seq_s = 28;  // a mean batch of 2.8 of 3 per instance
  EXPECT_TRUE(kv_saturated(p, 256));
  p.concurrency = 11;  // fewer than twice the 6 requests the pool decodes at once
  EXPECT_FALSE(kv_saturated(p, 256));
  p.concurrency = 12;
  p.main.stats.decode_seq_s = 26;  // 2.6 < 0.9 x 3
  EXPECT_FALSE(kv_saturated(p, 256));
  EXPECT_TRUE(kv_saturated(p, 2));  // max_num_seqs 2 is the cap: 2.6 >= 1.8, 12 >= 4

  std::vector<int> simulated;
  auto sim = [&](int c) { simulated.push_back(c); return linear_point(c); };
  const SearchResult r = search_concurrency(sim, Targets{}, 256, [](const ServingPoint& q) { return q.concurrency >= 16; });
  EXPECT_EQ(simulated, (std::vector<int>{1, 2, 4, 8, 16}));
  EXPECT_EQ(r.saturated_at, 16);
  EXPECT_EQ(r.max_meeting_concurrency, 16);
  EXPECT_EQ(r.first_missing_concurrency, 0);
}

// What saturation assumes, on the simulator: 1R-TP2 of Llama-3.1-70B holds 3 requests of 11000
// tokens; past the saturated point, tok/s/GPU and 1/TPOT stay within 2 % and TTFT only grows.
TEST(RecommendSearch, PointsPastSaturationAreNoBetter) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  auto sim = [&](int c) {
    ServingConfig cfg;
    cfg.concurrency = c;
    cfg.prompts_per_user = 3;
    return simulate_serving(parse_layout("1R-TP2"), m, prof, PerfParams{}, cfg);
  };
  auto full = [](const ServingPoint& p) { return kv_saturated(p, PerfParams{}.max_num_seqs); };
  const SearchResult cut = search_concurrency(sim, Targets{}, 64, full);
  ASSERT_GT(cut.saturated_at, 0);
  ASSERT_LT(cut.saturated_at, 64);
  const ServingPoint& at = cut.points.back();
  EXPECT_EQ(at.concurrency, cut.saturated_at);
  for (int c = 2 * cut.saturated_at; c <= 64; c *= 2) {
    const ServingPoint p = sim(c);
    EXPECT_NEAR(p.tokens_per_s_per_gpu / at.tokens_per_s_per_gpu, 1.0, 0.02) << c;
    EXPECT_NEAR(p.per_user_inv_tpot / at.per_user_inv_tpot, 1.0, 0.02) << c;
    EXPECT_GT(p.ttft_s, at.ttft_s) << c;
  }
}

// The search on the real simulator agrees with simulating every concurrency.
TEST(RecommendSearch, AgreesWithAnExhaustiveScanOfTheSimulator) {
  const ModelSpec m = preset_model("llama-3.1-8b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  auto sim = [&](int c) {
    ServingConfig cfg;
    cfg.concurrency = c;
    cfg.isl = 2000;
    cfg.osl = 200;
    cfg.prompts_per_user = 3;
    return simulate_serving(parse_layout("1R-TP1"), m, prof, PerfParams{}, cfg);
  };
  std::vector<ServingPoint> all;
  for (int c = 1; c <= 48; ++c) all.push_back(sim(c));
  // A TPOT target between the C = 1 and C = 48 values.
  Targets t;
  t.tpot_s = 0.5 * (all.front().tpot_s + all.back().tpot_s);
  int expected = 0;
  for (const auto& p : all)
    if (p.tpot_s <= t.tpot_s) expected = p.concurrency;
  ASSERT_GT(expected, 1);
  ASSERT_LT(expected, 48);
  const SearchResult r = search_concurrency(sim, t, 48);
  EXPECT_EQ(r.max_meeting_concurrency, expected);
  EXPECT_TRUE(r.monotonicity_notes.empty()) << r.monotonicity_notes.front();
}

}  // namespace
}  // namespace tpbench
