// ModelSpec: presets against the published Hugging Face numbers, config.json parsing, TP rules.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "harness/common/error.hpp"
#include "harness/model/model_spec.hpp"

using namespace tpbench;

TEST(ModelSpec, Llama70bParameterCountMatchesPublishedSize) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  // Hand count: per layer qkv 8192*(8192+2*1024) + o 8192^2 + gate/up 8192*2*28672
  // + down 28672*8192 + 2 norms*8192 = 83,886,080 + 67,108,864 + 469,762,048 + 234,881,024
  // + 16,384 = 855,654,400; x80 + 2 * 128256*8192 (embedding, LM head) + 8192 (final norm).
  EXPECT_EQ(m.params_per_layer(), 855654400LL);
  EXPECT_EQ(m.total_params(), 80LL * 855654400LL + 2LL * 128256 * 8192 + 8192);
  EXPECT_NEAR(m.total_params() / 1e9, 70.55, 0.01);  // "70.6B" on the model card
  EXPECT_EQ(m.kv_bytes_per_token(), 2LL * 80 * 8 * 128 * 2);  // 327,680 B
}

TEST(ModelSpec, Llama8bParameterCountMatchesPublishedSize) {
  const ModelSpec m = preset_model("llama-3.1-8b");
  EXPECT_NEAR(m.total_params() / 1e9, 8.03, 0.01);  // 8,030,261,248 per the model card
  EXPECT_EQ(m.total_params(), 8030261248LL);
}

TEST(ModelSpec, UnknownPresetIsAUsageError) {
  EXPECT_THROW(preset_model("llama-9"), UsageError);
}

static std::string write_temp(const std::string& text) {
  char name[] = "/tmp/tpbench_cfg_XXXXXX";
  int fd = mkstemp(name);
  FILE* f = fdopen(fd, "w");
  fputs(text.c_str(), f);
  fclose(f);
  return name;
}

TEST(ModelSpec, ReadsHuggingFaceConfig) {
  const std::string path = write_temp(R"({"hidden_size": 8192, "intermediate_size": 28672,
    "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8,
    "vocab_size": 128256, "torch_dtype": "bfloat16", "tie_word_embeddings": false})");
  const ModelSpec m = model_from_hf_config(path);
  EXPECT_EQ(m.head_dim, 128);  // derived: hidden / heads
  EXPECT_EQ(m.total_params(), preset_model("llama-3.1-70b").total_params());
  std::remove(path.c_str());
}

// Long on purpose: one check per malformed or incomplete config, each independent of the others.
TEST(ModelSpec, MalformedOrIncompleteConfigIsAUsageError) {
  const std::string bad = write_temp("{ not json");
  EXPECT_THROW(model_from_hf_config(bad), UsageError);
  const std::string incomplete = write_temp(R"({"hidden_size": 64})");
  EXPECT_THROW(model_from_hf_config(incomplete), UsageError);
  EXPECT_THROW(model_from_hf_config("/nonexistent/config.json"), UsageError);
  std::remove(bad.c_str());
  std::remove(incomplete.c_str());
}

TEST(ModelSpec, TensorParallelRules) {
  const ModelSpec m = preset_model("llama-3.1-70b");
  for (int tp : {1, 2, 4, 8, 16}) EXPECT_NO_THROW(validate_tp(m, tp)) << tp;  // 16 replicates KV
  EXPECT_THROW(validate_tp(m, 3), UsageError);   // 64 heads
  EXPECT_THROW(validate_tp(m, 0), UsageError);
  ModelSpec odd = m;
  odd.intermediate = 28670;  // not divisible by 4
  EXPECT_THROW(validate_tp(odd, 4), UsageError);
}

// Config.json fields that describe a model ModelSpec cannot hold are refused by name.
static std::string fixture(const std::string& name) {
  return std::string(TPBENCH_SOURCE_DIR) + "/tests/fixtures/hf_configs/" + name;
}

// The UsageError's message when reading `path`, or "" when it loads.
static std::string refusal(const std::string& path) {
  try {
    model_from_hf_config(path);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(ModelSpec, PublishedConfigsWithUnmodelledFeaturesAreRefusedByField) {
  const std::pair<const char*, const char*> cases[] = {
      {"deepseek-v3.json", "'kv_lora_rank'"},
      {"mistral-7b-v0.1.json", "'sliding_window'"},
      {"llama-3.1-8b-awq.json", "quant_method 'awq'"},
  };
  for (const auto& [file, field] : cases) {
    const std::string why = refusal(fixture(file));
    EXPECT_NE(why.find(field), std::string::npos) << file << ": " << why;
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;  // one line
  }
}

TEST(ModelSpec, SupportedPublishedConfigsStillLoad) {
  const ModelSpec llama = model_from_hf_config(fixture("llama-3.1-8b.json"));
  EXPECT_EQ(llama.total_params(), preset_model("llama-3.1-8b").total_params());
  const ModelSpec mistral = model_from_hf_config(fixture("mistral-7b-instruct-v0.2.json"));
  // Hand count: 32 x (4096*(4096+2*1024) + 4096^2 + 3*4096*14336 + 2*4096) + 2*32000*4096 + 4096,
  // the 7.24B of the Mistral-7B model card.
  EXPECT_EQ(mistral.total_params(), 7241732096LL);
  // quant_method fp8 with per-tensor scales: the same model with E4M3 linear weights.
  const ModelSpec fp8 = model_from_hf_config(fixture("llama-3.1-8b-fp8.json"));
  EXPECT_EQ(fp8.total_params(), llama.total_params());
  EXPECT_EQ(fp8.weight_dtype, DType::FP8E4M3);
}

// A Llama-3.1-8B-shaped config with `extra` fields appended (a JSON fragment starting ", ").
static std::string llama_with(const std::string& extra) {
  return write_temp(R"({"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
    "max_position_embeddings": 131072)" + extra + "}");
}

TEST(ModelSpec, UnmodelledFieldsAreRefusedOnlyWhenTheyTakeEffect) {
  const std::pair<const char*, const char*> refused[] = {
      {R"(, "quantization_config": {"quant_method": "awq", "bits": 4})", "quant_method 'awq'"},
      {R"(, "num_experts": 60, "num_experts_per_tok": 4)", "'moe_intermediate_size'"},
      {R"(, "kv_lora_rank": 512)", "'kv_lora_rank'"},
      {R"(, "attention_chunk_size": 8192)", "'attention_chunk_size'"},
      {R"(, "sliding_window": 4096, "use_sliding_window": true)", "'sliding_window'"},
      {R"(, "layer_types": ["sliding_attention", "full_attention"])", "'layer_types'"},
      {R"(, "attention_bias": true)", "'attention_bias'"},
      {R"(, "architectures": ["Qwen2ForCausalLM"])", "'architectures'"},
      {R"(, "architectures": "LlamaForCausalLM")", "'architectures'"},
      {R"(, "model_type": "gemma2")", "'model_type'"},
      {R"(, "torch_dtype": 16)", "'torch_dtype'"},
      {R"(, "dtype": "float8_e4m3fn")", "float8_e4m3fn"},
  };
  for (const auto& [extra, field] : refused) {
    const std::string path = llama_with(extra);
    const std::string why = refusal(path);
    EXPECT_NE(why.find(field), std::string::npos) << extra << ": " << why;
    std::remove(path.c_str());
  }
  const char* inert[] = {
      R"(, "sliding_window": 131072, "use_sliding_window": false, "max_window_layers": 28)",
      R"(, "sliding_window": 131072)",  // as long as max_position_embeddings
      R"(, "sliding_window": null, "quantization_config": null)",
      R"(, "decoder_sparse_step": 1, "attention_bias": false, "mlp_bias": false)",
      R"(, "layer_types": ["full_attention", "full_attention"], "q_lora_rank": null)",
      R"(, "architectures": ["LlamaForCausalLM"], "model_type": "llama", "rope_scaling": {"rope_type": "yarn", "factor": 4.0})",
  };
  for (const char* extra : inert) {
    const std::string path = llama_with(extra);
    EXPECT_EQ(refusal(path), "") << extra;
    std::remove(path.c_str());
  }
}

TEST(ModelSpec, ConfigNumbersAndDtypesAreReadOrRefusedExactly) {
  const std::string huge = write_temp(R"({"hidden_size": 18446744073709551615, "intermediate_size": 512,
    "num_hidden_layers": 2, "num_attention_heads": 8, "vocab_size": 1024})");
  EXPECT_NE(refusal(huge).find("out of range"), std::string::npos) << refusal(huge);
  const std::string f32 = llama_with(R"(, "dtype": "float32")");
  EXPECT_EQ(model_from_hf_config(f32).dtype, DType::F32);  // the newer name of torch_dtype
  std::remove(huge.c_str());
  std::remove(f32.c_str());
}

TEST(ModelSpec, AConfigPathUsedAsTheNameIsPrintable) {
  char name[] = "/tmp/tpbench_cfg_\x1b[2J_XXXXXX";  // a terminal escape in the file name
  const int fd = mkstemp(name);
  ASSERT_GE(fd, 0);
  const std::string text = R"({"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
    "num_attention_heads": 8, "vocab_size": 1024})";
  ASSERT_EQ(write(fd, text.data(), text.size()), ssize_t(text.size()));
  close(fd);
  const ModelSpec m = model_from_hf_config(name);
  EXPECT_EQ(m.name.find('\x1b'), std::string::npos) << m.name;
  EXPECT_NE(m.name.find("\\x1b"), std::string::npos) << m.name;
  std::remove(name);
}
