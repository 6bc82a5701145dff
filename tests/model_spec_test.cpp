// ModelSpec: presets against the published Hugging Face numbers, config.json parsing, TP rules.
#include <gtest/gtest.h>

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
