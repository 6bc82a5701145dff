// Mixture-of-experts model specs: presets against their model cards, config.json fields of each
// MoE family against hand-derived counts, refusals of attention the plans do not model, and the
// plans' refusal of MoE layers.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "harness/common/error.hpp"
#include "harness/model/model_spec.hpp"
#include "harness/perf/inputs.hpp"
#include "harness/plan/plan.hpp"

using namespace tpbench;

namespace {

std::string fixture(const char* name) { return std::string(TPBENCH_SOURCE_DIR) + "/tests/fixtures/" + name; }

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/tpbench_moe_cfg_XXXXXX";
  const int fd = mkstemp(name);
  FILE* f = fdopen(fd, "w");
  fputs(text.c_str(), f);
  fclose(f);
  return name;
}

// The message of the UsageError model_from_hf_config throws for `json`, or "" when none.
std::string config_error(const std::string& json) {
  const std::string path = write_temp(json);
  std::string msg;
  try {
    model_from_hf_config(path);
  } catch (const UsageError& e) {
    msg = e.what();
  }
  std::remove(path.c_str());
  return msg;
}

const std::string kMixtralLike = R"({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000)";

}  // namespace

// Hand count, Mixtral-8x7B (mistralai/Mixtral-8x7B-v0.1 config.json): per layer, attention
// 4096*(4096+2*1024) + 4096*4096 = 41,943,040; one expert 3*4096*14336 = 176,160,768; router
// 4096*8 = 32,768; two norms 8,192. Embedding and LM head 2*32000*4096, final norm 4096.
TEST(MoeModelSpec, MixtralCountsMatchTheAnnouncement) {
  const ModelSpec m = preset_model("mixtral-8x7b");
  const int64_t outside = 2LL * 32000 * 4096 + 4096;
  EXPECT_EQ(m.total_params(), 32LL * (41943040 + 8 * 176160768LL + 32768 + 8192) + outside);
  EXPECT_EQ(m.active_params(), 32LL * (41943040 + 2 * 176160768LL + 32768 + 8192) + outside);
  // Mistral AI, "Mixtral of experts" (mistral.ai/news/mixtral-of-experts, Dec 2023): "46.7B total
  // parameters but only uses 12.9B parameters per token" -- figures rounded to 0.1B.
  EXPECT_NEAR(m.total_params() / 1e9, 46.7, 0.05);
  EXPECT_NEAR(m.active_params() / 1e9, 12.9, 0.05);
  EXPECT_EQ(m.kv_bytes_per_token(), 2LL * 32 * 8 * 128 * 2);
  EXPECT_EQ(m.weight_bytes(), 2 * m.total_params());  // all BF16
}

// Hand count, Qwen3-30B-A3B (Qwen/Qwen3-30B-A3B config.json): per layer, attention
// 2048*(4096+2*512) + 4096*2048 = 18,874,368; one expert 3*2048*768 = 4,718,592; router
// 2048*128 = 262,144; two norms 4,096. Embedding and LM head 2*151936*2048, final norm 2048.
TEST(MoeModelSpec, Qwen3MoeCountsMatchTheModelCard) {
  const ModelSpec m = preset_model("qwen3-30b-a3b");
  const int64_t outside = 2LL * 151936 * 2048 + 2048;
  EXPECT_EQ(m.total_params(), 48LL * (18874368 + 128 * 4718592LL + 262144 + 4096) + outside);
  EXPECT_EQ(m.active_params(), 48LL * (18874368 + 8 * 4718592LL + 262144 + 4096) + outside);
  // Qwen/Qwen3-30B-A3B model card on Hugging Face: "Number of Parameters: 30.5B in total and 3.3B
  // activated". Our 30.53B and 3.353B agree with both when cut to one decimal (the card's
  // 3.3B is not 3.353B rounded to nearest, so the card's figures are taken as truncated).
  EXPECT_GE(m.total_params(), 30.5e9);
  EXPECT_LT(m.total_params(), 30.6e9);
  EXPECT_GE(m.active_params(), 3.3e9);
  EXPECT_LT(m.active_params(), 3.4e9);
  EXPECT_EQ(m.kv_bytes_per_token(), 2LL * 48 * 4 * 128 * 2);
}

TEST(MoeModelSpec, PublishedConfigsReadAsThePresets) {
  for (const auto& [file, preset] : {std::pair{"mixtral_8x7b_config.json", "mixtral-8x7b"},
                                     std::pair{"qwen3_30b_a3b_config.json", "qwen3-30b-a3b"}}) {
    const ModelSpec c = model_from_hf_config(fixture(file)), p = preset_model(preset);
    EXPECT_EQ(c.moe_layer_count(), c.layers) << file;
    EXPECT_EQ(c.moe.experts, p.moe.experts) << file;
    EXPECT_EQ(c.moe.experts_per_token, p.moe.experts_per_token) << file;
    EXPECT_EQ(c.moe.expert_intermediate, p.moe.expert_intermediate) << file;
    EXPECT_EQ(c.moe.shared_experts, 0) << file;
    EXPECT_EQ(c.total_params(), p.total_params()) << file;
    EXPECT_EQ(c.active_params(), p.active_params()) << file;
    EXPECT_EQ(c.kv_bytes_per_token(), p.kv_bytes_per_token()) << file;
  }
}

// tests/fixtures/qwen2_moe_small_config.json: hidden 64, 4 layers, 4 heads of 16, 2 KV heads,
// vocab 1000; decoder_sparse_step 2 and mlp_only_layers [3] leave layer 1 the only MoE layer.
// Attention 64*(64+2*32) + 64*64 = 12,288 a layer, norms 128; dense MLP 3*64*256 = 49,152;
// the MoE block: router 64*8 = 512, experts 8 * 3*64*32 = 49,152, shared expert 3*64*128 =
// 24,576 and its gate 64 (active: the router, 2 experts of 6,144, the shared expert and gate).
TEST(MoeModelSpec, QwenMoeSparseStepSharedExpertAndMlpOnlyLayers) {
  ModelSpec m = model_from_hf_config(fixture("qwen2_moe_small_config.json"));
  ASSERT_EQ(m.layer_ffn.size(), 4u);
  EXPECT_EQ(m.ffn_kind(0), FfnKind::Dense);
  EXPECT_EQ(m.ffn_kind(1), FfnKind::MoE);
  EXPECT_EQ(m.ffn_kind(2), FfnKind::Dense);
  EXPECT_EQ(m.ffn_kind(3), FfnKind::Dense);  // (3+1) % 2 == 0, but listed in mlp_only_layers
  EXPECT_EQ(m.moe.shared_experts, 1);
  EXPECT_EQ(m.moe.shared_intermediate, 128);
  EXPECT_TRUE(m.moe.shared_expert_gate);
  const int64_t outside = 2 * 64000 + 64;
  EXPECT_EQ(m.total_params(), 4 * (12288 + 128) + 3 * 49152 + (512 + 49152 + 24576 + 64) + outside);  // 399,488
  EXPECT_EQ(m.total_params(), 399488);
  EXPECT_EQ(m.active_params(), 4 * (12288 + 128) + 3 * 49152 + (512 + 2 * 6144 + 24576 + 64) + outside);
  EXPECT_EQ(m.kv_bytes_per_token(), 2 * 4 * 2 * 16 * 2);
  // FP8 weights: the linear ones (attention, MLPs, experts, shared expert: 270,336) at one byte,
  // the rest (embedding, LM head, norms, router, shared-expert gate) at two.
  m.weight_dtype = DType::FP8E4M3;
  const int64_t linear = 4 * 12288 + 3 * 49152 + 49152 + 24576;
  EXPECT_EQ(m.weight_bytes(), linear + 2 * (399488 - linear));
  // The fixture names no model type: Qwen2-MoE itself has Q, K and V biases ModelSpec does not
  // count, so a config that says qwen2_moe is refused by its model type.
  std::ifstream in(fixture("qwen2_moe_small_config.json"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.insert(text.find('{') + 1, R"("model_type": "qwen2_moe", )");
  try {
    model_from_hf_config(write_temp(text));
    ADD_FAILURE() << "a qwen2_moe config was read";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'model_type'"), std::string::npos) << e.what();
  }
}

// tests/fixtures/deepseek_moe_small_config.json: first_k_dense_replace 1 leaves layer 0 dense;
// 16 routed experts of 3*64*16 = 3,072, 2 shared experts as wide, k = 4, router 64*16 = 1,024;
// MHA attention 4*64*64 = 16,384 a layer; tied embedding.
TEST(MoeModelSpec, DeepSeekMoeFirstDenseLayersAndSharedExperts) {
  const ModelSpec m = model_from_hf_config(fixture("deepseek_moe_small_config.json"));
  EXPECT_EQ(m.ffn_kind(0), FfnKind::Dense);
  EXPECT_EQ(m.moe_layer_count(), 3);
  EXPECT_EQ(m.moe.shared_experts, 2);
  EXPECT_EQ(m.moe.shared_intermediate, 16);
  EXPECT_FALSE(m.moe.shared_expert_gate);
  const int64_t layers_common = 4 * (16384 + 128) + 49152, outside = 64000 + 64;
  EXPECT_EQ(m.total_params(), layers_common + 3 * (1024 + 16 * 3072 + 2 * 3072) + outside);
  EXPECT_EQ(m.active_params(), layers_common + 3 * (1024 + 4 * 3072 + 2 * 3072) + outside);
}

// Llama 4 text config: MoE layers every interleave_moe_layer_step, one shared expert as wide as
// the routed ones (intermediate_size), dense layers of intermediate_size_mlp.
TEST(MoeModelSpec, Llama4InterleavedLayersAndDenseWidth) {
  const std::string path = write_temp(R"({"hidden_size": 64, "intermediate_size": 32, "intermediate_size_mlp": 256,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "vocab_size": 1000, "num_local_experts": 4, "num_experts_per_tok": 1, "interleave_moe_layer_step": 2})");
  const ModelSpec m = model_from_hf_config(path);
  std::remove(path.c_str());
  EXPECT_EQ(m.ffn_kind(0), FfnKind::Dense);
  EXPECT_EQ(m.ffn_kind(1), FfnKind::MoE);
  EXPECT_EQ(m.ffn_kind(3), FfnKind::MoE);
  EXPECT_EQ(m.intermediate, 256);
  EXPECT_EQ(m.moe.expert_intermediate, 32);
  EXPECT_EQ(m.moe.shared_experts, 1);
  EXPECT_EQ(m.moe.shared_intermediate, 32);
  const int64_t attention = 64 * (64 + 2 * 32) + 64 * 64;
  EXPECT_EQ(m.active_params(), 4 * (attention + 128) + 2 * 3 * 64 * 256 + 2 * (64 * 4 + 2 * 3 * 64 * 32) +
                                   2 * 64000 + 64);
}

TEST(MoeModelSpec, DenseConfigCountsAreUnchanged) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  EXPECT_FALSE(m.has_moe_layers());
  EXPECT_EQ(m.active_params(), m.total_params());
  EXPECT_EQ(m.total_params(), 80LL * 855654400LL + 2LL * 128256 * 8192 + 8192);
}

TEST(MoeModelSpec, BadMoeFieldsAreRefusedByName) {
  const std::string four = kMixtralLike + R"(, "num_local_experts": 4)";
  EXPECT_NE(config_error(four + "}").find("num_experts_per_tok"), std::string::npos);  // lacks k
  EXPECT_EQ(config_error(four + R"(, "num_experts_per_tok": 2})"), "");
  EXPECT_NE(config_error(four + R"(, "num_experts_per_tok": 5})").find("num_experts_per_tok"), std::string::npos);
  EXPECT_NE(config_error(four + R"(, "num_experts_per_tok": "2"})").find("not an integer"), std::string::npos);
  EXPECT_NE(config_error(kMixtralLike + R"(, "moe_num_experts": 64, "moe_k": 6})").find("'moe_num_experts'"),
            std::string::npos);
  EXPECT_NE(config_error(kMixtralLike + R"(, "num_experts_per_tok": 2})").find("'num_experts_per_tok'"), std::string::npos);
  EXPECT_NE(config_error(kMixtralLike + R"(, "num_local_experts": 0, "num_experts_per_tok": 1})").find("routed experts"),
            std::string::npos);
  EXPECT_EQ(config_error(kMixtralLike + R"(, "num_experts": 0, "num_experts_per_tok": 1, "moe_intermediate_size": 8})"),
            "");  // Qwen-MoE reads num_experts 0 as a dense model
  EXPECT_NE(config_error(kMixtralLike + R"(, "num_local_experts": 1, "num_experts_per_tok": 1})").find("routed experts"),
            std::string::npos);
  EXPECT_NE(config_error(kMixtralLike + R"(, "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 8,
    "decoder_sparse_step": 0})").find("decoder_sparse_step"), std::string::npos);
}

TEST(MoeModelSpec, UnmodelledAttentionIsRefusedNamingTheField) {
  const std::string dense = R"({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000)";
  EXPECT_NE(config_error(dense + R"(, "kv_lora_rank": 512})").find("'kv_lora_rank' 512: multi-head latent attention"),
            std::string::npos);
  EXPECT_NE(config_error(dense + R"(, "q_lora_rank": 1536})").find("'q_lora_rank'"), std::string::npos);
  EXPECT_NE(config_error(dense + R"(, "sliding_window": 4096})").find("'sliding_window' 4096: sliding-window attention"),
            std::string::npos);
  EXPECT_NE(config_error(dense + R"(, "attention_chunk_size": 8192})").find("'attention_chunk_size'"), std::string::npos);
  EXPECT_NE(config_error(dense + R"(, "layer_types": ["full_attention", "sliding_attention"]})").find("layer_types"),
            std::string::npos);
  // A window the config says it does not use, a null one, and full attention everywhere: read.
  EXPECT_EQ(config_error(dense + R"(, "sliding_window": 4096, "use_sliding_window": false})"), "");
  EXPECT_EQ(config_error(dense + R"(, "sliding_window": null, "q_lora_rank": null})"), "");
  EXPECT_EQ(config_error(dense + R"(, "layer_types": ["full_attention", "full_attention"]})"), "");
}

// The plans build MoE layers as such (grouped expert GEMMs, never a dense MLP of some width).
TEST(MoeModelSpec, PlansBuildMoeLayersAsExperts) {
  const ModelSpec m = select_model("", fixture("mixtral_8x7b_config.json"));
  StepConfig c;
  c.tp = 2;
  c.batch = 1;
  c.layers = 1;
  const StepProgram p = build_program(m, c);
  int grouped = 0, dense_mlp = 0;
  for (const Op& op : p.ranks[0].ops) {
    grouped += op.kind == OpKind::GroupedGemm;
    dense_mlp += op.name.find("gate_up") != std::string::npos && op.kind == OpKind::Gemm;
  }
  EXPECT_EQ(grouped, 2);  // gate/up and down over the experts
  EXPECT_EQ(dense_mlp, 0);
  EXPECT_NO_THROW(select_model("qwen3-30b-a3b", ""));
}
