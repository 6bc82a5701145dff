#include "harness/model/hf_config_fields.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "harness/common/error.hpp"

namespace tpbench {
namespace {

using nlohmann::json;

// When a field's value changes the model.
enum class Effect {
  Set,              // any value but null, false, 0, "" or an empty list / object
  SlidingWindow,    // a window that is switched on and shorter than the longest sequence
  NonFullLayers,    // a per-layer attention list naming anything but full attention
};

struct UnmodelledField {
  std::string_view key;
  Effect effect;
  std::string_view reason;
};

constexpr std::string_view kQuantized =
    "quantized weights are not modelled (bytes and matmul rate would be those of the unquantized dtype)";
constexpr std::string_view kWindow =
    "sliding-window attention is not modelled (KV cache and attention would be priced over the whole context)";
constexpr std::string_view kLatent =
    "multi-head latent attention is not modelled (its compressed KV and projections differ from GQA)";
constexpr std::string_view kChunked =
    "chunked attention is not modelled (attention would be priced over the whole context)";
constexpr std::string_view kBias = "bias vectors are not modelled (ModelSpec counts bias-free layers)";

// Field names as the published configs spell them: DeepSeek-V2/V3 (kv_lora_rank, q_lora_rank),
// Llama 4 (attention_chunk_size), gpt-oss and Gemma 3 (layer_types with sliding_attention),
// Mistral-7B (sliding_window), Llama (attention_bias, mlp_bias), compressed-tensors
// (compression_config). Expert fields are not here: the model reader reads the MoE families it
// knows (model_spec.cpp, read_moe_fields) and refuses expert fields of any other.
// The order is the order of the checks: the first field that takes effect is named.
// quantization_config is not here: the model reader takes quant_method fp8 (per-tensor scales)
// as FP8 weights and refuses every other method by name.
constexpr std::array<UnmodelledField, 8> kUnmodelledFields{{
    {"compression_config", Effect::Set, kQuantized},
    {"kv_lora_rank", Effect::Set, kLatent},
    {"q_lora_rank", Effect::Set, kLatent},
    {"sliding_window", Effect::SlidingWindow, kWindow},
    {"layer_types", Effect::NonFullLayers, kWindow},
    {"attention_chunk_size", Effect::Set, kChunked},
    {"attention_bias", Effect::Set, kBias},
    {"mlp_bias", Effect::Set, kBias},
}};

// Architectures whose every weight ModelSpec counts: a bias-free GQA decoder with a SwiGLU MLP.
// Qwen2 is not among them: its Q, K and V projections carry biases ModelSpec does not count.
// The mixture-of-experts families the reader takes are bias-free too: Mixtral, Qwen3-MoE,
// DeepSeekMoE and DeepSeek-V2/V3 (whose latent attention is refused by field above).
constexpr std::array<std::string_view, 7> kArchitectures{"LlamaForCausalLM",     "MistralForCausalLM",
                                                         "MixtralForCausalLM",   "Qwen3MoeForCausalLM",
                                                         "DeepseekForCausalLM",  "DeepseekV2ForCausalLM",
                                                         "DeepseekV3ForCausalLM"};
constexpr std::array<std::string_view, 7> kModelTypes{"llama",    "mistral",     "mixtral",    "qwen3_moe",
                                                      "deepseek", "deepseek_v2", "deepseek_v3"};

bool is_set(const json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v != json(0);
  if (v.is_string() || v.is_array() || v.is_object()) return !v.empty();
  return true;
}

// A sliding window changes the model when it is a window (a positive length), is switched on
// (Qwen2 configs carry a window with use_sliding_window false: every layer attends to the
// whole context) and is shorter than max_position_embeddings (a window as long as the longest
// sequence the model accepts never drops a token). Mistral-7B-v0.1's 4096 of 32768 takes effect.
bool sliding_window_takes_effect(const json& config) {
  const json& window = config.at("sliding_window");
  if (!is_set(window)) return false;
  if (config.contains("use_sliding_window") && config.at("use_sliding_window").is_boolean() &&
      !config.at("use_sliding_window").get<bool>())
    return false;
  if (window.is_number() && config.contains("max_position_embeddings") &&
      config.at("max_position_embeddings").is_number() &&
      window.get<double>() >= config.at("max_position_embeddings").get<double>())
    return false;
  return true;
}

bool layer_types_take_effect(const json& layer_types) {
  if (layer_types.is_null()) return false;
  if (!layer_types.is_array()) return true;
  return std::any_of(layer_types.begin(), layer_types.end(),
                     [](const json& t) { return !(t.is_string() && t.get<std::string>() == "full_attention"); });
}

bool takes_effect(const UnmodelledField& field, const json& config) {
  const json& value = config.at(std::string(field.key));
  switch (field.effect) {
    case Effect::Set: return is_set(value);
    case Effect::SlidingWindow: return sliding_window_takes_effect(config);
    case Effect::NonFullLayers: return layer_types_take_effect(value);
  }
  return true;
}

// A short rendering of a value for a one-line error: a quantization method by name.
std::string describe(const json& value) {
  if (value.is_object() && value.contains("quant_method") && value.at("quant_method").is_string())
    return "quant_method " + value.at("quant_method").dump(-1, ' ', true, json::error_handler_t::replace);
  if (value.is_object()) return "{...}";
  std::string text = value.dump(-1, ' ', true, json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

template <size_t N>
std::string joined(const std::array<std::string_view, N>& names) {
  std::string out;
  for (const auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

template <size_t N>
bool contains(const std::array<std::string_view, N>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A config without `architectures` or `model_type` (hand-written) is read as the Llama family.
void refuse_unknown_architecture(const json& config, const std::string& path) {
  const std::string where = "model config '" + path + "': ";
  if (config.contains("architectures") && !config.at("architectures").is_null()) {
    const json& archs = config.at("architectures");
    if (!archs.is_array()) throw UsageError(where + "'architectures' is not a list");
    for (const json& a : archs) {
      if (!a.is_string() || !contains(kArchitectures, a.get<std::string>()))
        throw UsageError(where + "'architectures' names " + describe(a) +
                         ", which tpbench does not model (supported: " + joined(kArchitectures) + ")");
    }
  }
  if (config.contains("model_type") && !config.at("model_type").is_null()) {
    const json& type = config.at("model_type");
    if (!type.is_string() || !contains(kModelTypes, type.get<std::string>()))
      throw UsageError(where + "'model_type' " + describe(type) +
                       " is not modelled (supported: " + joined(kModelTypes) + ")");
  }
}

}  // namespace

void refuse_unmodelled_config(const json& config, const std::string& path) {
  for (const UnmodelledField& field : kUnmodelledFields) {
    if (!config.contains(std::string(field.key)) || !takes_effect(field, config)) continue;
    throw UsageError("model config '" + path + "': '" + std::string(field.key) + "' " +
                     describe(config.at(std::string(field.key))) + ": " + std::string(field.reason));
  }
  refuse_unknown_architecture(config, path);
}

}  // namespace tpbench
