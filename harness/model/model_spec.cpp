#include "harness/model/model_spec.hpp"

#include <nlohmann/json.hpp>

#include "harness/common/error.hpp"
#include "harness/common/text.hpp"
#include "harness/io/json_file.hpp"
#include "harness/model/hf_config_fields.hpp"

namespace tpbench {

int dtype_bytes(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::F16: return 2;
    case DType::FP8E4M3: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::BF16: return "bfloat16";
    case DType::F16: return "float16";
    case DType::FP8E4M3: return "float8_e4m3fn";
  }
  return "?";
}

DType parse_dtype(const std::string& s) {
  if (s == "bfloat16" || s == "bf16") return DType::BF16;
  if (s == "float16" || s == "fp16" || s == "half") return DType::F16;
  if (s == "float32" || s == "fp32" || s == "float") return DType::F32;
  throw UsageError("unknown dtype '" + s + "' (expected bfloat16, float16 or float32)");
}

DType parse_storage_dtype(const std::string& s, const char* what) {
  if (s == "bf16" || s == "bfloat16") return DType::BF16;
  if (s == "fp8" || s == "fp8_e4m3" || s == "float8_e4m3fn") return DType::FP8E4M3;
  throw UsageError(std::string(what) + " '" + s + "' is not bf16 or fp8");
}

int64_t ModelSpec::linear_params_per_layer() const {
  const int64_t qkv = hidden * (q_width() + 2 * kv_width());
  const int64_t o = q_width() * hidden;
  const int64_t gate_up = hidden * 2 * intermediate;
  const int64_t down = intermediate * hidden;
  return qkv + o + gate_up + down;
}

int64_t ModelSpec::params_per_layer() const { return linear_params_per_layer() + 2 * hidden; }

int64_t ModelSpec::weight_bytes() const {
  const int64_t linear = layers * linear_params_per_layer();
  return linear * dtype_bytes(weight_dtype) + (total_params() - linear) * dtype_bytes(dtype);
}

int64_t ModelSpec::embedding_params() const { return vocab * hidden; }
int64_t ModelSpec::lm_head_params() const { return tied_embeddings ? 0 : vocab * hidden; }

int64_t ModelSpec::total_params() const {
  return layers * params_per_layer() + embedding_params() + lm_head_params() + hidden;
}

int64_t ModelSpec::kv_bytes_per_token() const {
  return 2 * layers * kv_heads * head_dim * dtype_bytes(kv_dtype);
}

void ModelSpec::validate() const {
  // Bounds far beyond any published model, so that weight and KV byte counts stay exact in 64 bits.
  auto need_positive = [&](int64_t v, const char* field, int64_t most) {
    if (v <= 0) throw UsageError("model '" + name + "': " + field + " must be positive");
    if (v > most) throw UsageError("model '" + name + "': " + field + " " + std::to_string(v) + " is above " + std::to_string(most));
  };
  need_positive(hidden, "hidden_size", 1 << 20);
  need_positive(intermediate, "intermediate_size", 1 << 22);
  need_positive(layers, "num_hidden_layers", 4096);
  need_positive(q_heads, "num_attention_heads", 4096);
  need_positive(kv_heads, "num_key_value_heads", 4096);
  need_positive(head_dim, "head_dim", 4096);
  need_positive(vocab, "vocab_size", 1 << 24);
  if (dtype == DType::FP8E4M3)
    throw UsageError("model '" + name + "': FP8 activations are not modelled (FP8 weights and KV cache are)");
  if (q_heads % kv_heads != 0)
    throw UsageError("model '" + name + "': num_attention_heads (" + std::to_string(q_heads) +
                     ") is not a multiple of num_key_value_heads (" + std::to_string(kv_heads) + ")");
}

ModelSpec preset_model(const std::string& name) {
  ModelSpec m;
  m.name = name;
  if (name == "tiny") {
    // Small enough to run every plan on the CPU backend in milliseconds, shaped so that
    // TP=4 and TP=8 exercise KV-head replication (2 KV heads) like Llama-3.1-70B at TP=16.
    m.hidden = 256; m.intermediate = 512; m.layers = 2; m.q_heads = 8; m.kv_heads = 2;
    m.head_dim = 32; m.vocab = 1024;
  } else if (name == "llama-3.1-8b") {
    // meta-llama/Llama-3.1-8B config.json
    m.hidden = 4096; m.intermediate = 14336; m.layers = 32; m.q_heads = 32; m.kv_heads = 8;
    m.head_dim = 128; m.vocab = 128256;
  } else if (name == "llama-3.1-70b") {
    // meta-llama/Llama-3.1-70B config.json
    m.hidden = 8192; m.intermediate = 28672; m.layers = 80; m.q_heads = 64; m.kv_heads = 8;
    m.head_dim = 128; m.vocab = 128256;
  } else {
    std::string known;
    for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw UsageError("unknown model '" + name + "' (presets: " + known +
                     "; or pass --model-config config.json)");
  }
  m.dtype = m.weight_dtype = m.kv_dtype = DType::BF16;
  m.tied_embeddings = false;
  return m;
}

std::vector<std::string> preset_names() { return {"tiny", "llama-3.1-8b", "llama-3.1-70b"}; }

namespace {

// quant_method "fp8" as vLLM's Fp8Config reads it: E4M3 weights with one scale per tensor
// (activation_scheme dynamic or static). Block-wise scales (weight_block_size) and every other
// method (awq, gptq, compressed-tensors, ...) are not modelled and refused by name.
DType weight_dtype_from_quantization(const nlohmann::json& j, const std::string& path) {
  const nlohmann::json& q = j.at("quantization_config");
  const std::string where = "model config '" + path + "': quantization_config";
  if (!q.is_object()) throw UsageError(where + " is not an object");
  if (!q.contains("quant_method") || !q.at("quant_method").is_string())
    throw UsageError(where + " has no quant_method string");
  const std::string method = q.at("quant_method").get<std::string>();
  if (method != "fp8")
    throw UsageError(where + ": quant_method '" + method + "' is not modelled (fp8 with per-tensor scales is)");
  if (q.contains("weight_block_size") && !q.at("weight_block_size").is_null())
    throw UsageError(where + ": block-wise FP8 scales (weight_block_size) are not modelled (per-tensor scales are)");
  if (q.contains("fmt") && q.at("fmt") != "e4m3")
    throw UsageError(where + ": fp8 format " + q.at("fmt").dump() + " is not modelled (e4m3 is)");
  return DType::FP8E4M3;
}

}  // namespace

ModelSpec model_from_hf_config(const std::string& path) {
  const nlohmann::json j = read_json_file(path, "model config");
  if (!j.is_object()) throw UsageError("model config '" + path + "' is not a JSON object");
  refuse_unmodelled_config(j, path);
  auto get_int = [&](const char* key) -> int64_t {
    if (!j.contains(key)) throw UsageError("model config '" + path + "' lacks '" + key + "'");
    const auto& v = j.at(key);
    if (!v.is_number_integer())
      throw UsageError("model config '" + path + "': '" + key + "' is not an integer");
    // Above int64's range an unsigned value would wrap to a negative one.
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      throw UsageError("model config '" + path + "': '" + key + "' " + v.dump() + " is out of range");
    return v.get<int64_t>();
  };
  ModelSpec m;
  if (j.contains("_name_or_path") && !j.at("_name_or_path").is_null()) {
    if (!j.at("_name_or_path").is_string())
      throw UsageError("model config '" + path + "': '_name_or_path' is not a string");
    m.name = j.at("_name_or_path").get<std::string>();
    // The name appears in one-line errors and in table rows.
    for (const char ch : m.name)
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
        throw UsageError("model config '" + path + "': '_name_or_path' contains control characters");
  }
  if (m.name.empty()) m.name = escaped(path);  // printed in tables: no control characters raw
  m.hidden = get_int("hidden_size");
  m.intermediate = get_int("intermediate_size");
  m.layers = get_int("num_hidden_layers");
  m.q_heads = get_int("num_attention_heads");
  // Older configs without GQA omit num_key_value_heads: then it equals the query heads.
  m.kv_heads = j.contains("num_key_value_heads") ? get_int("num_key_value_heads") : m.q_heads;
  if (j.contains("head_dim") && !j.at("head_dim").is_null()) {
    m.head_dim = get_int("head_dim");
  } else {
    if (m.q_heads <= 0 || m.hidden % m.q_heads != 0)
      throw UsageError("model config '" + path + "': hidden_size not divisible by num_attention_heads");
    m.head_dim = m.hidden / m.q_heads;
  }
  m.vocab = get_int("vocab_size");
  if (j.contains("tie_word_embeddings") && !j.at("tie_word_embeddings").is_null()) {
    if (!j.at("tie_word_embeddings").is_boolean())
      throw UsageError("model config '" + path + "': 'tie_word_embeddings' is not true or false");
    m.tied_embeddings = j.at("tie_word_embeddings").get<bool>();
  }
  // Newer transformers write the weights' dtype as "dtype", older ones as "torch_dtype".
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (!j.contains(key) || j.at(key).is_null()) continue;
    if (!j.at(key).is_string())
      throw UsageError("model config '" + path + "': '" + key + "' is not a string");
    m.dtype = parse_dtype(j.at(key).get<std::string>());
  }
  m.weight_dtype = m.kv_dtype = m.dtype;
  if (j.contains("quantization_config") && !j.at("quantization_config").is_null())
    m.weight_dtype = weight_dtype_from_quantization(j, path);
  m.validate();
  return m;
}

void validate_tp(const ModelSpec& m, int tp) {
  auto fail = [&](const std::string& what) {
    throw UsageError("TP=" + std::to_string(tp) + " cannot shard model '" + m.name + "': " + what);
  };
  if (tp <= 0) fail("TP must be positive");
  if (m.q_heads % tp != 0)
    fail("it does not divide the " + std::to_string(m.q_heads) + " query heads");
  if (m.intermediate % tp != 0)
    fail("it does not divide the intermediate size " + std::to_string(m.intermediate));
  if (m.vocab % tp != 0) fail("it does not divide the vocabulary " + std::to_string(m.vocab));
  if (tp > m.kv_heads) {
    if (tp % m.kv_heads != 0)
      fail("it exceeds the " + std::to_string(m.kv_heads) + " KV heads but is not a multiple of them");
  } else if (m.kv_heads % tp != 0) {
    fail("it does not divide the " + std::to_string(m.kv_heads) + " KV heads");
  }
}

}  // namespace tpbench
