// The built-in profiles: every number cites a source, the datasheet figures are the published
// ones, the derived collective tables keep their stated relation to the H100 table, a profile
// file may start from any built-in, and a sanity law over the GPU generations holds.
#include <gtest/gtest.h>

#include <string>

#include "harness/common/error.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/perf/system_profile.hpp"

namespace tpbench {
namespace {

// Every field profile_to_json writes, apart from the identity fields, is a number or a table
// the model uses: each must have a source.
TEST(BuiltinProfiles, EveryNumberHasASource) {
  ASSERT_EQ(builtin_profile_names().size(), 5u);
  for (const std::string& name : builtin_profile_names()) {
    const SystemProfile p = builtin_profile(name);
    const nlohmann::json j = profile_to_json(p);
    for (const auto& [key, value] : j.items()) {
      if (key == "schema" || key == "name" || key == "gpu" || key == "sources") continue;
      ASSERT_TRUE(p.sources.count(key)) << name << ": " << key << " has no source";
      EXPECT_GT(p.sources.at(key).size(), 20u) << name << ": " << key;
    }
    // FP8 absent still says why.
    EXPECT_TRUE(p.sources.count("fp8_matmul_flops")) << name;
  }
}

TEST(BuiltinProfiles, DatasheetFigures) {
  const SystemProfile a = builtin_profile("a100-sxm-80gb"), b = builtin_profile("b200"),
                      g = builtin_profile("gb200-nvl72"), h = builtin_profile("h100-sxm");
  // NVIDIA datasheets: A100 80GB 2,039 GB/s and 312 TFLOP/s BF16 dense, no FP8; HGX B200 8 TB/s,
  // 2.25 / 4.5 PFLOP/s BF16 / FP8 dense; GB200 NVL72 576 TB/s, 13.4 TB, 360 / 720 PFLOP/s sparse
  // over 72 GPUs; H100 SXM FP8 1,979 TFLOP/s dense.
  EXPECT_DOUBLE_EQ(a.peak_hbm_bandwidth, 2.039e12);
  EXPECT_DOUBLE_EQ(a.peak_matmul_flops, 312e12);
  EXPECT_EQ(a.fp8_matmul_flops, 0.0);
  EXPECT_DOUBLE_EQ(a.memory_bytes, 81920.0 * 1048576.0);
  EXPECT_DOUBLE_EQ(b.peak_hbm_bandwidth, 8e12);
  EXPECT_DOUBLE_EQ(b.peak_matmul_flops, 2.25e15);
  EXPECT_DOUBLE_EQ(b.peak_fp8_matmul_flops, 4.5e15);
  EXPECT_NEAR(g.memory_bytes, 186.1e9, 0.1e9);
  EXPECT_DOUBLE_EQ(g.peak_hbm_bandwidth, 8e12);
  EXPECT_DOUBLE_EQ(g.peak_matmul_flops, 360e15 / 2 / 72);
  EXPECT_DOUBLE_EQ(g.peak_fp8_matmul_flops, 720e15 / 2 / 72);
  EXPECT_NEAR(h.peak_fp8_matmul_flops, 1979e12, 1e12);
  // Carried-over figures say so.
  EXPECT_NE(a.sources.at("kernel_overhead_s").find("carried over from h100-sxm"), std::string::npos);
  EXPECT_DOUBLE_EQ(a.kernel_overhead_s, h.kernel_overhead_s);
}

// Large-message all_reduce busbw = bytes x 2(n-1)/n / time: A100 at the published 8x A100
// 230-250 GB/s; B200 8 GPUs at the published 811 GB/s; NVL72 groups up to 72, each slower
// than the group below it at one size.
TEST(BuiltinProfiles, CollectiveTablesFollowTheirPublishedBusbw) {
  const double gib = 1073741824.0;
  auto busbw = [&](const SystemProfile& p, int n) {
    return gib * 2.0 * (n - 1) / n / p.collectives.time_s(CollectiveKind::AllReduce, n, gib);
  };
  const SystemProfile a = builtin_profile("a100-sxm-80gb"), b = builtin_profile("b200"),
                      g = builtin_profile("gb200-nvl72"), h = builtin_profile("h100-sxm");
  EXPECT_NEAR(busbw(a, 8) / 1e9, 240.0 * (busbw(h, 8) / 480e9), 1.0);  // H100's 482 vs 480 cited
  EXPECT_GT(busbw(a, 8), 230e9);
  EXPECT_LT(busbw(a, 8), 250e9);
  EXPECT_GT(busbw(b, 8), 800e9);
  EXPECT_LT(busbw(b, 8), 820e9);
  // Latency floors are H100's (carried over): 12 us at 8 GPUs.
  EXPECT_DOUBLE_EQ(b.collectives.time_s(CollectiveKind::AllReduce, 8, 8), 12e-6);
  for (int n : {16, 32, 64, 72}) EXPECT_TRUE(g.collectives.has(CollectiveKind::AllReduce, n)) << n;
  EXPECT_FALSE(b.collectives.has(CollectiveKind::AllReduce, 16));
  double prev = 0;
  for (int n : {8, 16, 32, 64, 72}) {
    const double t = g.collectives.time_s(CollectiveKind::AllReduce, n, 16.0 * 1048576);
    EXPECT_GT(t, prev) << n;
    prev = t;
  }
  // At 72 GPUs the 8-GPU busbw holds at large sizes (the bandwidth term scales with 2(n-1)/n).
  EXPECT_NEAR(busbw(g, 72) / busbw(g, 8), 1.0, 0.02);
}

TEST(BuiltinProfiles, FileStartsFromABuiltin) {
  nlohmann::json j = {{"base", "b200"}, {"name", "my-b200"}, {"hbm_bandwidth", 7.0e12}};
  const SystemProfile p = profile_from_json(j, "test");
  const SystemProfile b = builtin_profile("b200");
  EXPECT_EQ(p.name, "my-b200");
  EXPECT_DOUBLE_EQ(p.hbm_bandwidth, 7.0e12);
  EXPECT_DOUBLE_EQ(p.peak_fp8_matmul_flops, b.peak_fp8_matmul_flops);
  EXPECT_DOUBLE_EQ(p.collectives.time_s(CollectiveKind::AllReduce, 8, 1e6),
                   b.collectives.time_s(CollectiveKind::AllReduce, 8, 1e6));
  // The replaced field's source is the file, the others the built-in's.
  EXPECT_NE(p.sources.at("hbm_bandwidth").find("over base 'b200'"), std::string::npos);
  EXPECT_EQ(p.sources.at("matmul_flops"), b.sources.at("matmul_flops"));
  // One group's curve replaced, the others kept.
  j = {{"base", "gb200-nvl72"}, {"collectives", {{"all_reduce", {{"72", {{8, 1e-3}, {1e9, 2e-3}}}}}}}};
  const SystemProfile q = profile_from_json(j, "t");
  EXPECT_DOUBLE_EQ(q.collectives.time_s(CollectiveKind::AllReduce, 72, 8), 1e-3);
  EXPECT_TRUE(q.collectives.has(CollectiveKind::AllReduce, 64));
  EXPECT_EQ(q.name, "t");
  EXPECT_THROW(profile_from_json({{"base", "a100"}}, "t"), UsageError);
  EXPECT_THROW(profile_from_json({{"base", 3}}, "t"), UsageError);
  // An A100-based file has no FP8 unless it says so; a peak without the rate is an error.
  EXPECT_EQ(profile_from_json({{"base", "a100-sxm-80gb"}}, "t").fp8_matmul_flops, 0.0);
  EXPECT_THROW(profile_from_json({{"base", "a100-sxm-80gb"}, {"peak_fp8_matmul_flops", 1e15}}, "t"), UsageError);
}

// A sanity law, not a tuned value: on one layout at C = 1 (Llama-3.1-70B, TP8, one sequence at
// 11,000 tokens of context) each newer GPU predicts more tokens/s per user: its HBM bandwidth,
// which sets a decode step at C = 1, is higher (2.0 < 3.35 < 4.8 < 8 TB/s).
TEST(BuiltinProfiles, TokensPerUserOrderAcrossGenerations) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  StepShape s;
  s.decode_seqs = 1;
  s.decode_ctx_tokens = 11000;
  s.logits = 1;
  double prev = 0;
  for (const char* name : {"a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200"}) {
    const StepCostModel model(m, 8, builtin_profile(name), PerfParams{});
    const double per_user = 1.0 / model.step(s).total_s;
    EXPECT_GT(per_user, prev) << name;
    prev = per_user;
  }
}

}  // namespace
}  // namespace tpbench
