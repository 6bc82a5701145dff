// `tpbench calibrate`: option validation, the measurement request, merging hand-made
// measurements into a base profile and the round trip through the profile JSON that predict
// reads. The GPU part (a reduced calibration on a real device) skips without one.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <sys/wait.h>

#include "harness/commands/calibrate_command.hpp"
#include "harness/common/error.hpp"

#ifdef TPBENCH_HAVE_CUDA
#include <cuda_runtime.h>
#endif

using namespace tpbench;

namespace {

CalibrateOptions good_options() {
  CalibrateOptions o;
  o.out = "profile.json";
  return o;
}

// Hand-made measurements: one GPU's ceilings, one GEMM shape at two m, two attention points,
// and (optionally) an all_reduce table for 2 GPUs.
CalibrateMeasurements hand_made(bool with_collectives) {
  CalibrateMeasurements m;
  m.gpu_name = "NVIDIA H100 80GB HBM3";
  m.gpu_count = with_collectives ? 2 : 1;
  m.memory_bytes = 85e9;
  m.hbm_bytes = 4.0 * (1 << 30);
  m.hbm_read_bps = 3.0e12;
  m.hbm_copy_bps = 2.8e12;
  m.square = 8192;
  m.matmul_flops = 1.0e15;
  const CalibrateGemmShape s{"o", 8, 1000, 1000};
  m.gemm = {{s, 1, 1e-5}, {s, 1, 3e-5}, {s, 1000, 4e-6}};  // m=1: 4e6 FLOP in 4e-5 s; m=1000: 2e9 in 4e-6 s
  const CalibrateAttentionHeads h{8, 8, 1, 128};
  // Batch 1: ours 1e-3 s against cuDNN's 1.4e-3 s; batch 64: ours 1.6e-3 s against 1e-3 s.
  // The faster of each counts: 3e9 B in 2e-3 s.
  m.attention = {attention_point(h, 1, 10240, 1e9, AttentionKernel::Split, 1e-3, 1.4e-3),
                 attention_point(h, 64, 10240, 2e9, AttentionKernel::Split, 1.6e-3, 1e-3)};
  if (with_collectives) {
    m.collectives = {{CollectiveKind::AllReduce, 2, 8, 6e-6}, {CollectiveKind::AllReduce, 2, 8, 9e-6},  // duplicate size
                     {CollectiveKind::AllReduce, 2, 1 << 20, 2e-5}, {CollectiveKind::AllReduce, 2, 1 << 30, 4e-3}};
    m.collective_note = "group size(s) 4, 8 need more than the 2 GPUs selected";
  } else {
    m.collective_note = "only 1 GPU selected: no NCCL group of 2 or more GPUs can be measured";
  }
  return m;
}

}  // namespace

TEST(CalibrateOptions, Validation) {
  EXPECT_NO_THROW(check_calibrate_options(good_options()));
  auto bad = [](auto edit) {
    CalibrateOptions o = good_options();
    edit(o);
    EXPECT_THROW(check_calibrate_options(o), UsageError);
  };
  bad([](CalibrateOptions& o) { o.out.clear(); });
  bad([](CalibrateOptions& o) { o.gpus = {0, -1}; });
  bad([](CalibrateOptions& o) { o.gpus = {0, 1, 0}; });
  bad([](CalibrateOptions& o) { o.min_bytes = -1; });
  bad([](CalibrateOptions& o) { o.tps = {}; });
  bad([](CalibrateOptions& o) { o.tps = {4, 0}; });
  bad([](CalibrateOptions& o) { o.plans = {"tp", "pipeline"}; });
  bad([](CalibrateOptions& o) { o.max_bytes = -5; });
  bad([](CalibrateOptions& o) { o.min_bytes = 1 << 20, o.max_bytes = 1 << 10; });
  bad([](CalibrateOptions& o) { o.max_bytes = int64_t(16) << 30; });
}

TEST(CalibrateOptions, UnknownBaseAndUnwritableOutFailBeforeAnyWork) {
  CalibrateOptions o = good_options();
  std::ostringstream out;
  o.base = "no-such-profile";
  EXPECT_THROW(run_calibrate(o, out), UsageError);
  o.base = "h100-sxm";
  o.out = "/nonexistent-dir/sub/profile.json";
  EXPECT_THROW(run_calibrate(o, out), UsageError);
  EXPECT_EQ(out.str(), "");  // nothing measured, nothing printed
}

// The tp plan's per-rank GEMMs of Llama-3.1-70B at TP 1, 4 and 8, as the plan emits them.
TEST(CalibrateRequest, Llama70bShapesAtTp148) {
  const CalibrateWorkload w =
      calibrate_workload(preset_model("llama-3.1-70b"), {1, 4, 8}, {PlanKind::TP}, 8192);
  const auto& shapes = w.gemm_shapes;
  ASSERT_EQ(shapes.size(), 15u);
  auto find = [&](const std::string& name, int tp) {
    for (const auto& s : shapes)
      if (s.name == name && s.tp == tp) return s;
    ADD_FAILURE() << name << " tp " << tp;
    return CalibrateGemmShape{};
  };
  EXPECT_EQ(find("qkv", 1).n, (64 + 16) * 128);
  EXPECT_EQ(find("qkv", 8).n, (8 + 2) * 128);  // one KV head per rank
  EXPECT_EQ(find("o_proj", 4).k, 16 * 128);
  EXPECT_EQ(find("gate_up", 1).n, 2 * 28672);
  EXPECT_EQ(find("gate_up", 8).k, 8192);
  EXPECT_EQ(find("down", 4).k, 28672 / 4);
  EXPECT_EQ(find("down", 8).n, 8192);
  EXPECT_EQ(find("lm_head", 1).n, 128256);  // vocab-parallel
  EXPECT_EQ(find("lm_head", 8).n, 128256 / 8);
  EXPECT_EQ(find("lm_head", 4).k, 8192);
  EXPECT_EQ(find("o_proj", 4).per_step, 80);  // once per layer
  EXPECT_EQ(find("lm_head", 4).per_step, 1);
  // Local heads of the attention ops: 64 / TP query heads, 8 / TP KV heads (1 replicated at 8).
  ASSERT_EQ(w.attention_heads.size(), 3u);
  EXPECT_EQ(w.attention_heads[2].q_heads, 8);
  EXPECT_EQ(w.attention_heads[2].kv_heads, 1);
  // all_reduce of 1 token x 8192 x 2 B = 16 KiB up to 8192 tokens = 128 MiB; the logits gather
  // of 256 rows at TP4: 4 x 256 x 32,064 x 2 B = 65,667,072 B stays inside.
  EXPECT_EQ(w.min_message_bytes, 16384.0);
  EXPECT_EQ(w.max_message_bytes, 134217728.0);
  EXPECT_EQ(w.collective_ops.size(), 2u);  // all_reduce, all_gather
  EXPECT_EQ(w.description, "llama-3.1-70b, plans tp, TP 1,4,8");
}

// Weight-gather runs the unsharded layer GEMMs on every rank and gathers whole layers (855,654,400
// parameters x 2 B = 1,711,308,800 B) and the whole LM head (8192 x 128,256 x 2 B = 2,101,346,304 B),
// whatever the TP.
TEST(CalibrateRequest, WeightGatherShapesAreTheWholeLayer) {
  const CalibrateWorkload w = calibrate_workload(preset_model("llama-3.1-70b"), {4}, {PlanKind::WeightGather}, 8192);
  auto n_of = [&](const std::string& name) {
    for (const auto& s : w.gemm_shapes)
      if (s.name == name) return s.n;
    return int64_t(-1);
  };
  EXPECT_EQ(n_of("qkv"), (64 + 16) * 128);
  EXPECT_EQ(n_of("gate_up"), 2 * 28672);
  EXPECT_EQ(n_of("lm_head"), 128256);
  EXPECT_EQ(w.max_message_bytes, 2101346304.0);
  ASSERT_EQ(w.collective_ops.size(), 1u);
  EXPECT_EQ(w.collective_ops[0], CollectiveKind::AllGather);
  CalibrateOptions o = good_options();
  o.tps = {4};
  o.plans = {"weight-gather"};
  const CalibrateRequest r = make_calibrate_request(o);
  EXPECT_EQ(r.collective_sizes.back(), size_t(2) << 30);  // the head gather, up to a power of two: 2^31
  EXPECT_EQ(r.collective_sizes.front(), 8u);
}

// Measured GEMM times become per-(n, k) tables; a shape measured at two TPs is averaged.
// The fixed cost per kernel is taken out of each measured GEMM time before the efficiency is
// computed (the cost model adds it back): 2e9 FLOP in 4e-6 s less 1e-6 s is 2e9 / 3e-6 FLOP/s.
TEST(CalibrateMerge, EfficiencyExcludesTheKernelCost) {
  const CalibrateGemmShape s{"qkv", 4, 1000, 1000, 1};
  const auto t = gemm_efficiency_table({{s, 1000, 4e-6}}, 1e15, 1e-6);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_NEAR(t[0].second, 2e9 / 3e-6 / 1e15, 1e-12);
  // A kernel shorter than its fixed cost keeps a tenth of its time, never zero.
  EXPECT_NEAR(gemm_efficiency_table({{s, 1000, 5e-7}}, 1e15, 1e-6)[0].second, std::min(1.5, 2e9 / 5e-8 / 1e15), 1e-12);
}

TEST(CalibrateMerge, GemmTimeTablesByShape) {
  const CalibrateGemmShape a{"qkv", 4, 2560, 8192, 80}, b{"qkv", 8, 2560, 8192, 80}, c{"down", 4, 8192, 7168, 80};
  const auto t = gemm_time_tables({{a, 1, 1e-5}, {b, 1, 3e-5}, {a, 64, 5e-5}, {c, 1, 4e-5}});
  ASSERT_EQ(t.size(), 2u);
  const SystemProfile::GemmTimes& qkv = t[0].n == 2560 ? t[0] : t[1];
  ASSERT_EQ(qkv.points.size(), 2u);
  EXPECT_DOUBLE_EQ(qkv.points[0].second, 2e-5);
  EXPECT_DOUBLE_EQ(qkv.points[1].first, 64.0);
}

TEST(CalibrateRequest, SizesAndQuick) {
  const auto sizes = calibrate_collective_sizes(8, int64_t(1) << 30, 2);
  ASSERT_EQ(sizes.size(), 28u);  // 2^3 .. 2^30
  EXPECT_EQ(sizes.front(), 8u);
  EXPECT_EQ(sizes.back(), size_t(1) << 30);
  const auto by4 = calibrate_collective_sizes(8, 1 << 20, 4);
  EXPECT_EQ(by4.size(), 9u);  // 8 * 4^0 .. 8 * 4^8 = 2^19
  EXPECT_EQ(calibrate_collective_sizes(100, 100, 2), std::vector<size_t>{100});

  CalibrateOptions o = good_options();
  const CalibrateRequest full = make_calibrate_request(o);
  EXPECT_EQ(full.gemm_m.size(), 14u);
  EXPECT_EQ(full.gemm_m.back(), 8192);
  EXPECT_EQ(full.attention_heads.size(), 3u);
  EXPECT_EQ(full.attention_batch.back(), 64);
  // 8 B .. 1 GiB, which holds the tp plan's messages (16 KiB to 128 MiB): 2^3 .. 2^30.
  EXPECT_EQ(full.collective_sizes.size(), 28u);
  EXPECT_EQ(full.collective_sizes.front(), 8u);
  // A dense model's plans send no all_to_all: the three tensor-parallel kinds only.
  EXPECT_EQ(full.collective_ops, (std::vector<CollectiveKind>{CollectiveKind::AllReduce, CollectiveKind::AllGather,
                                                              CollectiveKind::ReduceScatter}));
  o.quick = true;
  const CalibrateRequest quick = make_calibrate_request(o);
  EXPECT_LT(quick.iters, full.iters);
  EXPECT_LT(quick.collective_sizes.size(), full.collective_sizes.size());
  EXPECT_EQ(quick.gemm_m, full.gemm_m);  // the whole efficiency table, fewer samples
}

TEST(CalibrateRequest, AllToAllIsMeasuredOnlyWhenThePlansSendIt) {
  using K = CollectiveKind;
  const std::vector<K> tp_kinds = {K::AllReduce, K::AllGather, K::ReduceScatter};
  EXPECT_EQ(calibrate_collective_kinds({}), tp_kinds);
  EXPECT_EQ(calibrate_collective_kinds({K::AllGather}), tp_kinds);
  EXPECT_EQ(calibrate_collective_kinds({K::AllToAll, K::AllReduce}),
            (std::vector<K>{K::AllReduce, K::AllGather, K::ReduceScatter, K::AllToAll}));
}

TEST(CalibrateMerge, MeasuredAllToAllIsNamedInTheSource) {
  auto m = hand_made(true);
  m.collectives.push_back({CollectiveKind::AllToAll, 2, 1 << 20, 3e-5});
  const SystemProfile p = merge_calibration(resolve_profile("h100-sxm"), m, "");
  EXPECT_DOUBLE_EQ(p.collectives.time_s(CollectiveKind::AllToAll, 2, 1 << 20), 3e-5);
  const std::string& src = p.sources.at("collectives");
  EXPECT_EQ(src.rfind("measured: NCCL BF16 all_reduce/all_to_all, groups 2", 0), 0u) << src;
}

TEST(CalibrateMerge, GemmEfficiencyIsTotalFlopsOverTotalTime) {
  const auto m = hand_made(false);
  const auto t = gemm_efficiency_table(m.gemm, m.matmul_flops);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_DOUBLE_EQ(t[0].first, 1);
  EXPECT_NEAR(t[0].second, 4e6 / 4e-5 / 1e15, 1e-12);
  EXPECT_DOUBLE_EQ(t[1].first, 1000);
  EXPECT_DOUBLE_EQ(t[1].second, 0.5);
  // Capped at what profile_from_json accepts.
  EXPECT_DOUBLE_EQ(gemm_efficiency_table(m.gemm, 1e9).back().second, 1.5);
  EXPECT_TRUE(gemm_efficiency_table(m.gemm, 0).empty());
}

// One table per TP from that TP's shapes only: TP8's small GEMMs must not borrow TP1's rate.
TEST(CalibrateMerge, GemmEfficiencyPerTp) {
  const CalibrateGemmShape big{"gate_up", 1, 1000, 1000}, small{"gate_up", 8, 100, 1000};
  // m=1: TP1 2e6 FLOP in 1e-5 s (2e11 FLOP/s), TP8 2e5 FLOP in 4e-6 s (5e10 FLOP/s).
  const std::vector<CalibrateGemmPoint> pts = {{big, 1, 1e-5}, {small, 1, 4e-6}};
  const auto by = gemm_efficiency_tables_by_tp(pts, 1e12);
  ASSERT_EQ(by.size(), 2u);
  EXPECT_NEAR(by.at(1).at(0).second, 0.2, 1e-12);
  EXPECT_NEAR(by.at(8).at(0).second, 0.05, 1e-12);
  // Pooled: 2.2e6 FLOP in 1.4e-5 s, weighted by the large shape.
  EXPECT_NEAR(gemm_efficiency_table(pts, 1e12).at(0).second, 2.2e6 / 1.4e-5 / 1e12, 1e-12);
}

// Shapes count as often as a step runs them: 80 layer GEMMs beside one huge LM head describe
// the layers, not the head.
TEST(CalibrateMerge, GemmEfficiencyWeightsShapesPerStep) {
  const CalibrateGemmShape layer{"o", 8, 100, 1000, 80}, head{"lm_head", 8, 10000, 1000, 1};
  // layer: 2e5 FLOP in 2e-6 s (1e11 FLOP/s); head: 2e7 FLOP in 2e-5 s (1e12 FLOP/s).
  const std::vector<CalibrateGemmPoint> pts = {{layer, 1, 2e-6}, {head, 1, 2e-5}};
  // (80 x 2e5 + 2e7) / (80 x 2e-6 + 2e-5) = 3.6e7 / 1.8e-4 = 2e11 FLOP/s -> 0.2 of 1e12.
  EXPECT_NEAR(gemm_efficiency_table(pts, 1e12).at(0).second, 0.2, 1e-12);
}

TEST(CalibrateMerge, MeasuredFieldsReplaceTheBase) {
  const SystemProfile base = resolve_profile("h100-sxm");
  const auto m = hand_made(true);
  const SystemProfile p = merge_calibration(base, m, "");
  EXPECT_EQ(p.name, "calibrated-nvidia-h100-80gb-hbm3");
  EXPECT_EQ(p.gpu, m.gpu_name);
  EXPECT_DOUBLE_EQ(p.memory_bytes, 85e9);
  EXPECT_DOUBLE_EQ(p.hbm_bandwidth, 3.0e12);
  EXPECT_DOUBLE_EQ(p.matmul_flops, 1.0e15);
  EXPECT_EQ(p.gemm_efficiency.size(), 2u);
  // Not measured: the base's.
  EXPECT_DOUBLE_EQ(p.peak_hbm_bandwidth, base.peak_hbm_bandwidth);
  EXPECT_DOUBLE_EQ(p.per_step_overhead_s, base.per_step_overhead_s);
  EXPECT_DOUBLE_EQ(p.runtime_reserve_bytes, base.runtime_reserve_bytes);
  // all_reduce n=2 measured (duplicate 8 B point: the first kept); n=4, 8 and the others kept.
  const auto& ar2 = p.collectives.curves().at(CollectiveKind::AllReduce).at(2);
  ASSERT_EQ(ar2.size(), 3u);
  EXPECT_DOUBLE_EQ(ar2[0].second, 6e-6);
  EXPECT_DOUBLE_EQ(p.collectives.time_s(CollectiveKind::AllReduce, 2, 1 << 20), 2e-5);
  EXPECT_DOUBLE_EQ(p.collectives.time_s(CollectiveKind::AllReduce, 8, 1 << 20),
                   base.collectives.time_s(CollectiveKind::AllReduce, 8, 1 << 20));
  EXPECT_TRUE(p.collectives.has(CollectiveKind::AllGather, 2));
  EXPECT_EQ(p.sources.at("hbm_bandwidth").rfind("measured:", 0), 0u);
  EXPECT_EQ(p.sources.at("collectives").rfind("measured:", 0), 0u);
  // 3e9 B in 2 x (1e-3 s less the base's 2.2 us per kernel) = 1.503 TB/s, over the 3 TB/s read.
  EXPECT_NE(p.sources.at("decode_attention_efficiency").find("1.503 TB/s"), std::string::npos);
  EXPECT_DOUBLE_EQ(p.decode_attention_efficiency, 3e9 / (2e-3 - 4.4e-6) / 3.0e12);
  EXPECT_EQ(p.gemm_efficiency_by_tp.size(), 1u);                      // only TP8 shapes measured
  EXPECT_EQ(merge_calibration(base, m, "my-node").name, "my-node");
}

TEST(CalibrateMerge, OneGpuKeepsTheBaseTablesAndSaysSo) {
  const SystemProfile base = resolve_profile("h200-sxm");
  const auto m = hand_made(false);
  const SystemProfile p = merge_calibration(base, m, "one");
  EXPECT_EQ(profile_to_json(p)["collectives"], profile_to_json(base)["collectives"]);
  EXPECT_EQ(p.sources.at("collectives").rfind("NOT measured (only 1 GPU", 0), 0u);
  std::ostringstream out;
  print_calibration_summary(base, p, m, out);
  EXPECT_NE(out.str().find("collectives: NOT measured"), std::string::npos);
  EXPECT_NE(out.str().find("HBM read (TB/s)"), std::string::npos);
  EXPECT_NE(out.str().find("GEMM efficiency m=1000"), std::string::npos);
  EXPECT_NE(out.str().find("GEMM efficiency TP=8 m=1 "), std::string::npos) << out.str();
}

// Both decode kernels timed: the faster is the point's kernel and time; without the library's
// time (no cuDNN) the project's kernel is.
TEST(CalibrateAttention, TheFasterKernelCountsAndIsRecorded) {
  const CalibrateAttentionHeads h{4, 16, 2, 128};
  const CalibrateAttentionPoint a = attention_point(h, 8, 10240, 5e8, AttentionKernel::Split, 3e-4, 2e-4);
  EXPECT_EQ(a.kernel, AttentionKernel::Library);
  EXPECT_DOUBLE_EQ(a.seconds, 2e-4);
  EXPECT_DOUBLE_EQ(a.own_seconds, 3e-4);
  const CalibrateAttentionPoint b = attention_point(h, 8, 10240, 5e8, AttentionKernel::Simple, 3e-4, std::nullopt);
  EXPECT_EQ(b.kernel, AttentionKernel::Simple);
  EXPECT_DOUBLE_EQ(b.seconds, 3e-4);
  EXPECT_DOUBLE_EQ(b.library_seconds, 0.0);
}

TEST(CalibrateMerge, DocumentRoundTripsThroughTheProfileReader) {
  const SystemProfile base = resolve_profile("h100-sxm");
  const auto m = hand_made(true);
  const SystemProfile p = merge_calibration(base, m, "");
  const nlohmann::json doc = calibration_document(p, m, "tpbench calibrate --out x.json");
  EXPECT_EQ(doc["schema"], "tpbench.profile/1");
  EXPECT_DOUBLE_EQ(doc["decode_attention_bandwidth"].get<double>(), 3e9 / (2e-3 - 4.4e-6));
  EXPECT_EQ(doc["calibration"]["gemm"].size(), 3u);
  EXPECT_EQ(doc["calibration"]["attention"][0]["kernel"], "tpbench-split");
  EXPECT_EQ(doc["calibration"]["attention"][1]["kernel"], "cudnn-sdpa");
  EXPECT_DOUBLE_EQ(doc["calibration"]["attention"][1]["own_seconds"].get<double>(), 1.6e-3);
  EXPECT_DOUBLE_EQ(doc["calibration"]["attention"][1]["seconds"].get<double>(), 1e-3);
  EXPECT_EQ(doc["calibration"]["collectives"].size(), 4u);
  EXPECT_DOUBLE_EQ(doc["calibration"]["collectives"][2]["busbw_bytes_per_s"].get<double>(), (1 << 20) / 2e-5);  // 2(n-1)/n = 1

  // Extra keys are ignored by the reader; every profile field survives a trip through a file.
  const std::string path = (std::filesystem::temp_directory_path() / "tpbench_calibrate_roundtrip.json").string();
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    const std::string text = doc.dump(2);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  const SystemProfile back = load_profile_file(path);
  std::filesystem::remove(path);
  EXPECT_EQ(profile_to_json(back), profile_to_json(p));
  EXPECT_EQ(back.gemm_efficiency, p.gemm_efficiency);
  EXPECT_DOUBLE_EQ(back.collectives.time_s(CollectiveKind::AllReduce, 2, 1 << 30), 4e-3);
}

// The document validates against results/schema/profile.schema.json (through
// scripts/tpbench_schema.py, which resolves the schemas' references to each other), and the
// schema rejects one without a required calibration field or with the tool as a string.
TEST(CalibrateMerge, DocumentValidatesAgainstTheProfileSchema) {
  if (std::system("python3 -c 'import jsonschema, referencing' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3 with jsonschema is not installed";
  const auto m = hand_made(true);
  const nlohmann::json doc = calibration_document(merge_calibration(resolve_profile("h100-sxm"), m, ""), m,
                                                  "tpbench calibrate --out x.json");
  const std::string path = (std::filesystem::temp_directory_path() / "tpbench_calibrate_schema.json").string();
  auto validate = [&](const nlohmann::json& d) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return -1;
    const std::string text = d.dump(2);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    const std::string cmd = "python3 " TPBENCH_SOURCE_DIR "/scripts/tpbench_schema.py " + path + " 2>/dev/null";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(validate(doc), 0);
  nlohmann::json bad = doc;
  bad["calibration"].erase("gpu_count");
  EXPECT_EQ(validate(bad), 1);
  bad = doc;
  bad["calibration"]["tool"] = "tpbench 0.1.0 (abc)";
  EXPECT_EQ(validate(bad), 1);
  bad = doc;
  bad["calibration"].erase("created_utc");
  EXPECT_EQ(validate(bad), 1);
  std::filesystem::remove(path);
}

TEST(CalibrateGpu, ReducedCalibrationOnTheDevice) {
#ifdef TPBENCH_HAVE_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    (void)cudaGetLastError();
    GTEST_SKIP() << "no CUDA device";
  }
  CalibrateOptions o = good_options();
  o.quick = true;
  o.gpus = {0};
  CalibrateRequest r = make_calibrate_request(o);
  // A few of each measurement, so the test takes seconds.
  r.hbm_bytes = size_t(512) << 20;
  r.square = 2048;
  r.gemm_m = {1, 16, 512};
  r.gemm_shapes = {r.gemm_shapes.back()};
  r.attention_batch = {1, 8};
  std::ostringstream progress;
  const CalibrateMeasurements m = run_calibrate_cuda(r, progress);
  EXPECT_FALSE(m.gpu_name.empty());
  EXPECT_GT(m.memory_bytes, 1e9);
  EXPECT_GT(m.hbm_read_bps, 1e11);
  EXPECT_GT(m.hbm_copy_bps, 1e11);
  EXPECT_GT(m.matmul_flops, 1e12);
  EXPECT_EQ(m.gemm.size(), 3u);
  EXPECT_EQ(m.attention.size(), 2u * r.attention_heads.size());
  EXPECT_TRUE(m.collectives.empty());  // one GPU
  EXPECT_FALSE(m.collective_note.empty());
  const SystemProfile p = merge_calibration(resolve_profile("h100-sxm"), m, "");
  EXPECT_NO_THROW(profile_from_json(calibration_document(p, m, "test"), "gpu test"));
#else
  GTEST_SKIP() << "built without CUDA";
#endif
}

// Not named *Gpu*: device_check.sh runs those on a GPU and fails on any skip.
TEST(CalibrateWithoutDevice, OneCleanErrorAndNoFile) {
#ifdef TPBENCH_HAVE_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) == cudaSuccess && n > 0) GTEST_SKIP() << "a CUDA device is present";
  (void)cudaGetLastError();
#endif
  CalibrateOptions o = good_options();
  o.out = (std::filesystem::temp_directory_path() / "tpbench_calibrate_nodevice.json").string();
  std::filesystem::remove(o.out);
  std::ostringstream out;
  try {
    run_calibrate(o, out);
    FAIL() << "expected UnavailableError";
  } catch (const UnavailableError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("calibrate: no usable CUDA device (", 0), 0u) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(o.out));
}
