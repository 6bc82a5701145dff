// Profile variations (explain's sensitivity table): each one moves exactly the input it names,
// by the stated amount; the no-NVLS collective table against hand-derived times; and the
// simulator's response to them in the direction physics requires.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/profile_variations.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/sim/grid.hpp"

namespace tpbench {
namespace {

// Top-level profile JSON keys whose values differ between a and b.
std::set<std::string> changed_keys(const SystemProfile& a, const SystemProfile& b) {
  const nlohmann::json ja = profile_to_json(a), jb = profile_to_json(b);
  std::set<std::string> out;
  for (auto it = ja.begin(); it != ja.end(); ++it)
    if (!jb.contains(it.key()) || jb.at(it.key()) != it.value()) out.insert(it.key());
  for (auto it = jb.begin(); it != jb.end(); ++it)
    if (!ja.contains(it.key())) out.insert(it.key());
  return out;
}

TEST(ProfileVariations, EachMovesOnlyTheInputItNames) {
  const SystemProfile base = builtin_profile("h100-sxm");
  const auto vs = profile_variations(base);
  ASSERT_GE(vs.size(), 10u);
  std::set<std::string> inputs;
  for (const auto& v : vs) {
    SystemProfile p = base;
    v.apply(p);
    EXPECT_EQ(changed_keys(base, p), std::set<std::string>{v.input}) << v.input << " " << v.label;
    EXPECT_FALSE(v.range.empty()) << v.input;
    inputs.insert(v.input);
  }
  for (const char* k : {"matmul_flops", "hbm_bandwidth", "attention_efficiency", "runtime_reserve_bytes", "collectives"})
    EXPECT_TRUE(inputs.count(k)) << k;
}

TEST(ProfileVariations, EndsOfTheSourcedRangesOnTheH100Profile) {
  // default_profiles.cpp: matmul 0.7 x 989.4e12 = 692.58e12, sources give 650-750 TFLOP/s;
  // HBM 0.9 x 3.35e12 = 3.015e12, sources give 2.9-3.1 TB/s; reserve 2.5 GiB, sources 1.5-3.
  const SystemProfile base = builtin_profile("h100-sxm");
  std::vector<double> matmul, hbm, reserve;
  for (const auto& v : profile_variations(base)) {
    SystemProfile p = base;
    v.apply(p);
    if (v.input == "matmul_flops") matmul.push_back(p.matmul_flops);
    if (v.input == "hbm_bandwidth") hbm.push_back(p.hbm_bandwidth);
    if (v.input == "runtime_reserve_bytes") reserve.push_back(p.runtime_reserve_bytes);
  }
  ASSERT_EQ(matmul.size(), 2u);
  EXPECT_NEAR(matmul[0], 650e12, 1e6);
  EXPECT_NEAR(matmul[1], 750e12, 1e6);
  ASSERT_EQ(hbm.size(), 2u);
  EXPECT_NEAR(hbm[0], 2.9e12, 1e9);
  EXPECT_NEAR(hbm[1], 3.1e12, 1e9);
  ASSERT_EQ(reserve.size(), 2u);
  EXPECT_NEAR(reserve[0] / (1024.0 * 1024 * 1024), 1.5, 1e-9);
  EXPECT_NEAR(reserve[1] / (1024.0 * 1024 * 1024), 3.0, 1e-9);
}

// A factor on an input that is zero would move nothing while its row claimed a range: no row.
TEST(ProfileVariations, NoRowForAnInputThatIsZero) {
  SystemProfile p = builtin_profile("h100-sxm");
  p.runtime_reserve_bytes = 0;
  p.per_step_overhead_s = 0;
  for (const auto& v : profile_variations(p)) {
    EXPECT_NE(v.input, "runtime_reserve_bytes");
    EXPECT_NE(v.input, "per_step_overhead_s");
  }
}

TEST(ProfileVariations, Tp8AtTp4BusBandwidthHandDerived) {
  // 4 GPUs: 10 us at 1 MiB, 3000 us at 1 GiB. 8 GPUs: 20 us at 1 MiB (latency-bound, slower
  // than 7/6 x 10 = 11.67 us: kept), 2000 us at 1 GiB (NVLS-fast: becomes 7/6 x 3000 = 3500 us).
  // busbw check at 1 GiB: 4 GPUs 1.5 x 2^30 / 3000 us = 536.9 GB/s; 8 GPUs 1.75 x 2^30 / 3500 us
  // = 536.9 GB/s: the same bus bandwidth, as the variation says.
  SystemProfile p;
  const double MiB = 1024.0 * 1024, GiB = MiB * 1024;
  for (auto op : {CollectiveKind::AllReduce, CollectiveKind::AllGather}) {
    p.collectives.set_curve(op, 4, {{MiB, 10e-6}, {GiB, 3000e-6}});
    p.collectives.set_curve(op, 8, {{MiB, 20e-6}, {GiB, 2000e-6}});
  }
  p.collectives.set_curve(CollectiveKind::ReduceScatter, 8, {{MiB, 20e-6}, {GiB, 2000e-6}});  // no 4-GPU curve
  tp8_at_tp4_bus_bandwidth(p);
  for (auto op : {CollectiveKind::AllReduce, CollectiveKind::AllGather}) {
    EXPECT_NEAR(p.collectives.time_s(op, 8, MiB), 20e-6, 1e-12);
    EXPECT_NEAR(p.collectives.time_s(op, 8, GiB), 3500e-6, 1e-12);
    EXPECT_NEAR(p.collectives.time_s(op, 4, GiB), 3000e-6, 1e-12);  // the 4-GPU curve untouched
  }
  EXPECT_NEAR(p.collectives.time_s(CollectiveKind::ReduceScatter, 8, GiB), 2000e-6, 1e-12);
}

// Physics the simulator must respect under the variations: slower collectives cannot make a TP
// group faster; more HBM bandwidth cannot make anything slower.
TEST(ProfileVariations, SimulatorMovesTheWayPhysicsRequires) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile base = builtin_profile("h100-sxm");
  GridSpec g;
  g.layouts = {parse_layout("1R-TP4"), parse_layout("1R-TP8")};
  g.concurrency = {8, 128};
  auto tps = [&](const SystemProfile& p) {
    std::vector<double> out;
    for (const auto& pt : simulate_grid(g, m, p, PerfParams{})) out.push_back(pt.tokens_per_s_per_gpu);
    return out;
  };
  const auto b = tps(base);
  SystemProfile ring = base;
  tp8_at_tp4_bus_bandwidth(ring);
  SystemProfile fast = base;
  fast.hbm_bandwidth *= 1.1;
  const auto r = tps(ring), f = tps(fast);
  ASSERT_EQ(b.size(), 4u);
  ASSERT_EQ(r.size(), 4u);
  for (size_t i = 0; i < 2; ++i) EXPECT_DOUBLE_EQ(r[i], b[i]) << "TP4 has no 8-GPU collectives";
  for (size_t i = 2; i < 4; ++i) EXPECT_LT(r[i], b[i]) << "TP8 with slower large all-reduces";
  for (size_t i = 0; i < 4; ++i) EXPECT_GE(f[i], b[i]);
}

}  // namespace
}  // namespace tpbench
