// FP8 (E4M3, per-tensor scales) weights and KV cache through the model spec, the plans, the
// memory plan, KV capacity and the cost model. Expected bytes are written out by hand from
// Llama-3.1-70B's shape (hidden 8192, intermediate 28672, 80 layers, 64 query and 8 KV heads of
// 128, vocabulary 128256), not recomputed through the code under test.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "harness/common/error.hpp"
#include "harness/perf/inputs.hpp"
#include "harness/perf/kv_capacity.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/plan/plan.hpp"
#include "harness/sim/grid.hpp"
#include "harness/sim/layout.hpp"

namespace tpbench {
namespace {

ModelSpec llama70b(DType weights, DType kv) {
  ModelSpec m = preset_model("llama-3.1-70b");
  m.weight_dtype = weights;
  m.kv_dtype = kv;
  return m;
}

TEST(Precision, WeightBytesHandDerived) {
  // Linear weights per layer: qkv 8192 x (8192 + 2 x 1024) = 83,886,080; o 67,108,864; gate/up
  // 8192 x 57,344 = 469,762,048; down 234,881,024 -> 855,638,016, x 80 = 68,451,041,280 at 1 B.
  // BF16 rest: norms 2 x 8192 x 80 = 1,310,720; embedding and LM head 2 x 1,050,673,152; final
  // norm 8192 -> 2,102,665,216 x 2 B = 4,205,330,432.
  EXPECT_EQ(llama70b(DType::FP8E4M3, DType::BF16).weight_bytes(), 72656371712);
  EXPECT_EQ(llama70b(DType::BF16, DType::BF16).weight_bytes(), 2 * (68451041280 + 2102665216));
  // KV per token: 2 x 80 x 8 x 128 x 1 B.
  EXPECT_EQ(llama70b(DType::BF16, DType::FP8E4M3).kv_bytes_per_token(), 163840);
}

TEST(Precision, KvCapacityTp4HandDerived) {
  const KvCapacity k = kv_capacity(llama70b(DType::FP8E4M3, DType::FP8E4M3), 4, builtin_profile("h100-sxm"), PerfParams{});
  // Per GPU: linear 213,909,504 per layer x 80 at 1 B = 17,112,760,320; norms 16,384 x 80 x 2 B =
  // 2,621,440; embedding and LM head shards 2 x 32,064 x 8192 + the final norm 8192, x 2 B =
  // 1,050,689,536 -> 18,166,071,296.
  EXPECT_DOUBLE_EQ(k.weight_bytes, 18166071296.0);
  // Activations stay BF16: the reserve of the BF16 case (perf_model_test), 3,912,033,408.
  EXPECT_NEAR(k.reserve_bytes, 3912033408.0, 1.0);
  // KV per token per GPU: 2 x 80 layers x 2 heads x 128 x 1 B = 40,960.
  EXPECT_DOUBLE_EQ(k.kv_bytes_per_token, 40960.0);
  // (81,244,769,484.8 - 18,166,071,296 - 3,912,033,408) / 40,960 = 1,444,498.65
  EXPECT_EQ(k.tokens, 1444498);
}

TEST(Precision, PlanOpsCarryTheirStorageTypes) {
  StepConfig c;
  c.tp = 4;
  c.batch = 2;
  c.context = 100;
  c.layers = 1;
  const StepProgram p = build_program(llama70b(DType::FP8E4M3, DType::FP8E4M3), c);
  const RankProgram& r = p.ranks.front();
  bool saw_qkv = false, saw_attn = false, saw_head = false;
  for (const Op& op : r.ops) {
    if (op.name == "L0.qkv") {  // 8192 x 2560 at 1 B; input 2 x 8192 and output 2 x 2560 at 2 B
      saw_qkv = true;
      EXPECT_DOUBLE_EQ(op.weight_bytes, 8192.0 * 2560);
      EXPECT_DOUBLE_EQ(op.hbm_bytes, 8192.0 * 2560 + 2 * (2 * 8192.0 + 2 * 2560));
    }
    if (op.name == "L0.attn") {  // 2 sequences x (100 rows read + 1 written) x 2 heads x 128 x K,V at 1 B
      saw_attn = true;
      EXPECT_DOUBLE_EQ(op.kv_bytes, 2 * 101 * 2.0 * 2 * 128);
    }
    if (op.name == "head.lm_head") {  // the LM head stays BF16
      saw_head = true;
      EXPECT_DOUBLE_EQ(op.weight_bytes, 8192.0 * 32064 * 2);
    }
  }
  EXPECT_TRUE(saw_qkv && saw_attn && saw_head);
  const MemoryFootprint f = footprint(r);
  // One layer: linear 213,909,504 x 1 B + norms 16,384 x 2 B; embedding, LM head, final norm.
  EXPECT_EQ(f.weight_bytes, 213909504 + 16384 * 2 + (2 * 32064 * 8192 + 8192) * 2);
  EXPECT_EQ(f.kv_bytes, 2 * 2 * 2 * 100 * 128);  // K and V, 2 sequences, 2 heads, 100 positions, 1 B
  // The weight-gather plan keeps a layer's norms in its flat FP8 shard: refused.
  c.plan = PlanKind::WeightGather;
  EXPECT_THROW(build_program(llama70b(DType::FP8E4M3, DType::BF16), c), UsageError);
  EXPECT_NO_THROW(build_program(llama70b(DType::BF16, DType::FP8E4M3), c));
}

// FP8 weights halve the bytes every GEMM streams and double its tensor-core rate, and change
// nothing else: no step on any layout may be slower than with BF16 weights.
TEST(Precision, Fp8WeightsNeverSlowerThanBf16) {
  for (const char* prof : {"h100-sxm", "h200-sxm", "b200", "gb200-nvl72"}) {
    const SystemProfile p = builtin_profile(prof);
    for (const char* model : {"llama-3.1-8b", "llama-3.1-70b"}) {
      ModelSpec bf16 = preset_model(model), fp8 = bf16;
      fp8.weight_dtype = DType::FP8E4M3;
      for (int tp : {1, 2, 4, 8}) {
        const StepCostModel a(bf16, tp, p, PerfParams{}), b(fp8, tp, p, PerfParams{});
        for (double seqs : {1.0, 64.0}) {
          StepShape s;
          s.decode_seqs = seqs;
          s.decode_ctx_tokens = seqs * 10500;
          s.logits = seqs;
          EXPECT_LE(b.step(s).total_s, a.step(s).total_s) << prof << " " << model << " TP" << tp << " C=" << seqs;
        }
        StepShape pre;
        pre.prefill_tokens = 8192;
        pre.prefill_attn_pairs = 0.5 * 8192 * 8193;
        pre.logits = 1;
        EXPECT_LE(b.step(pre).total_s, a.step(pre).total_s) << prof << " " << model << " TP" << tp << " prefill";
        EXPECT_LT(b.step(pre).gemm_compute_s, 0.6 * a.step(pre).gemm_compute_s) << prof << " " << model;
      }
    }
  }
  // Served: per-GPU throughput of every layout and concurrency is at least BF16's.
  GridSpec g;
  g.layouts = {parse_layout("1R-TP2"), parse_layout("2R-TP4"), parse_layout("1P-TP4 1D-TP4")};
  g.concurrency = {1, 64};
  g.isl = 2000;
  g.osl = 200;
  const SystemProfile h = builtin_profile("h100-sxm");
  const auto a = simulate_grid(g, llama70b(DType::BF16, DType::BF16), h, PerfParams{});
  const auto b = simulate_grid(g, llama70b(DType::FP8E4M3, DType::BF16), h, PerfParams{});
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].feasible) EXPECT_GE(b[i].tokens_per_s_per_gpu, a[i].tokens_per_s_per_gpu) << a[i].layout << " " << a[i].concurrency;
}

// The prediction document records the precision it was made at.
TEST(Precision, PredictionDocumentRecordsTheDtypes) {
  GridSpec g;
  g.layouts = {parse_layout("1R-TP8")};
  g.concurrency = {1};
  const ModelSpec m = llama70b(DType::FP8E4M3, DType::BF16);
  const SystemProfile h = builtin_profile("h100-sxm");
  const auto pts = simulate_grid(g, m, h, PerfParams{});
  const nlohmann::json j = prediction_document(g, m, h, PerfParams{}, pts, "test");
  EXPECT_EQ(j["model"]["weight_dtype"], "float8_e4m3fn");
  EXPECT_EQ(j["model"]["kv_dtype"], "bfloat16");
  EXPECT_EQ(j["model"]["weight_bytes"], 72656371712);
}

TEST(Precision, A100RefusesFp8WeightsWithTheReason) {
  const SystemProfile a = builtin_profile("a100-sxm-80gb");
  try {
    StepCostModel(llama70b(DType::FP8E4M3, DType::BF16), 8, a, PerfParams{});
    FAIL() << "A100 priced FP8 weights";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no FP8 tensor cores"), std::string::npos) << e.what();
  }
  // An FP8 KV cache needs no FP8 tensor cores.
  EXPECT_NO_THROW(StepCostModel(llama70b(DType::BF16, DType::FP8E4M3), 8, a, PerfParams{}));
}

std::string write_config(const std::string& name, const std::string& quantization) {
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream f(path);
  f << R"({"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
           "num_key_value_heads": 8, "vocab_size": 128256, "torch_dtype": "bfloat16")"
    << (quantization.empty() ? "" : ", \"quantization_config\": " + quantization) << "}";
  return path;
}

TEST(Precision, QuantizationConfigAndFlags) {
  const std::string fp8 = write_config("tpbench_q_fp8.json", R"({"quant_method": "fp8", "activation_scheme": "dynamic"})");
  EXPECT_EQ(model_from_hf_config(fp8).weight_dtype, DType::FP8E4M3);
  EXPECT_EQ(model_from_hf_config(fp8).kv_dtype, DType::BF16);
  // The flags override the config.
  EXPECT_EQ(select_model("", fp8, "bf16", "fp8").weight_dtype, DType::BF16);
  EXPECT_EQ(select_model("", fp8, "bf16", "fp8").kv_dtype, DType::FP8E4M3);
  EXPECT_EQ(select_model("llama-3.1-8b", "", "fp8", "").weight_dtype, DType::FP8E4M3);
  EXPECT_THROW(select_model("llama-3.1-8b", "", "int4", ""), UsageError);
  auto refused = [&](const std::string& q, const std::string& needle) {
    const std::string path = write_config("tpbench_q_other.json", q);
    try {
      model_from_hf_config(path);
      ADD_FAILURE() << q;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  refused(R"({"quant_method": "awq", "bits": 4})", "'awq'");
  refused(R"({"quant_method": "compressed-tensors"})", "'compressed-tensors'");
  refused(R"({"quant_method": "fp8", "weight_block_size": [128, 128]})", "weight_block_size");
  refused(R"({"bits": 4})", "quant_method");
  EXPECT_EQ(model_from_hf_config(write_config("tpbench_q_none.json", "")).weight_dtype, DType::BF16);
}

}  // namespace
}  // namespace tpbench
