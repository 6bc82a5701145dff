#include "harness/model/model_spec.hpp"

#include <algorithm>

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

bool ModelSpec::has_moe_layers() const { return moe_layer_count() > 0; }

FfnKind ModelSpec::ffn_kind(int64_t layer) const {
  return layer_ffn.empty() ? FfnKind::Dense : layer_ffn.at(static_cast<size_t>(layer));
}

int64_t ModelSpec::moe_layer_count() const {
  int64_t n = 0;
  for (const FfnKind k : layer_ffn) n += k == FfnKind::MoE ? 1 : 0;
  return n;
}

int64_t ModelSpec::attention_params_per_layer() const {
  const int64_t qkv = hidden * (q_width() + 2 * kv_width());
  const int64_t o = q_width() * hidden;
  return qkv + o;
}

int64_t ModelSpec::linear_params_per_layer() const {
  return attention_params_per_layer() + 3 * hidden * intermediate;  // gate, up (h x i) and down (i x h)
}

int64_t ModelSpec::params_per_layer() const { return linear_params_per_layer() + 2 * hidden; }

int64_t ModelSpec::moe_linear_params(int64_t routed) const {
  return 3 * hidden * (routed * moe.expert_intermediate + moe.shared_experts * moe.shared_intermediate);
}

int64_t ModelSpec::moe_ffn_params(int64_t routed) const {
  const int64_t router = hidden * moe.experts;
  const int64_t shared_gate = moe.shared_expert_gate ? hidden : 0;
  return moe_linear_params(routed) + router + shared_gate;
}

namespace {

// Parameters of the layers outside the embedding, LM head and final norm, with `routed` routed
// experts per MoE layer; `linear_only` counts the linear weights alone.
int64_t layer_params(const ModelSpec& m, int64_t routed, bool linear_only) {
  const int64_t moe_layers = m.moe_layer_count(), dense_layers = m.layers - moe_layers;
  const int64_t norms = linear_only ? 0 : 2 * m.hidden;
  const int64_t dense_ffn = 3 * m.hidden * m.intermediate;
  const int64_t moe_ffn = linear_only ? m.moe_linear_params(routed) : m.moe_ffn_params(routed);
  return m.layers * (m.attention_params_per_layer() + norms) + dense_layers * dense_ffn + moe_layers * moe_ffn;
}

int64_t outside_layers_params(const ModelSpec& m) {
  return m.embedding_params() + m.lm_head_params() + m.hidden;  // + the final norm
}

}  // namespace

int64_t ModelSpec::weight_bytes() const {
  const int64_t linear = layer_params(*this, moe.experts, true);
  return linear * dtype_bytes(weight_dtype) + (total_params() - linear) * dtype_bytes(dtype);
}

int64_t ModelSpec::embedding_params() const { return vocab * hidden; }
int64_t ModelSpec::lm_head_params() const { return tied_embeddings ? 0 : vocab * hidden; }

int64_t ModelSpec::total_params() const { return layer_params(*this, moe.experts, false) + outside_layers_params(*this); }

int64_t ModelSpec::active_params() const {
  return layer_params(*this, moe.experts_per_token, false) + outside_layers_params(*this);
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
  validate_moe();
}

void ModelSpec::validate_moe() const {
  if (!layer_ffn.empty() && static_cast<int64_t>(layer_ffn.size()) != layers)
    throw UsageError("model '" + name + "': " + std::to_string(layer_ffn.size()) + " per-layer feed-forward kinds for " +
                     std::to_string(layers) + " layers");
  if (!has_moe_layers()) return;
  auto fail = [&](const std::string& what) { throw UsageError("model '" + name + "': " + what); };
  // Widths x counts bounded so that the experts' byte counts stay exact in 64 bits.
  if (moe.experts < 2 || moe.experts > 4096) fail("the number of routed experts must be in 2..4096");
  if (moe.experts_per_token < 1 || moe.experts_per_token > moe.experts)
    fail("num_experts_per_tok must be in 1..the number of routed experts (" + std::to_string(moe.experts) + ")");
  if (moe.expert_intermediate <= 0 || moe.expert_intermediate * moe.experts > (1 << 24))
    fail("the expert intermediate size must be positive and at most 2^24 over all experts");
  if (moe.shared_experts < 0 || moe.shared_experts > 4096) fail("the number of shared experts must be in 0..4096");
  if (moe.shared_experts > 0 && (moe.shared_intermediate <= 0 || moe.shared_intermediate * moe.shared_experts > (1 << 24)))
    fail("the shared expert intermediate size must be positive and at most 2^24 over all shared experts");
}

ModelSpec preset_model(const std::string& name) {
  ModelSpec m;
  m.name = name;
  if (name == "tiny") {
    // Small enough to run every plan on the CPU backend in milliseconds, shaped so that
    // TP=4 and TP=8 exercise KV-head replication (2 KV heads) like Llama-3.1-70B at TP=16.
    m.hidden = 256; m.intermediate = 512; m.layers = 2; m.q_heads = 8; m.kv_heads = 2;
    m.head_dim = 32; m.vocab = 1024;
  } else if (name == "tiny-moe") {
    // The tiny model with mixture-of-experts layers, for running the MoE plans on the CPU
    // backend: layer 0 dense (as DeepSeekMoE's first_k_dense_replace), layers 1 and 2 with 8
    // routed experts of which each token takes 2, and one shared expert; EP up to 8 and TP up to
    // 8 within the experts.
    m.hidden = 256; m.intermediate = 512; m.layers = 3; m.q_heads = 8; m.kv_heads = 2;
    m.head_dim = 32; m.vocab = 1024;
    m.moe = {.experts = 8, .experts_per_token = 2, .expert_intermediate = 64, .shared_experts = 1,
             .shared_intermediate = 64};
    m.layer_ffn = {FfnKind::Dense, FfnKind::MoE, FfnKind::MoE};
  } else if (name == "llama-3.1-8b") {
    // meta-llama/Llama-3.1-8B config.json
    m.hidden = 4096; m.intermediate = 14336; m.layers = 32; m.q_heads = 32; m.kv_heads = 8;
    m.head_dim = 128; m.vocab = 128256;
  } else if (name == "llama-3.1-70b") {
    // meta-llama/Llama-3.1-70B config.json
    m.hidden = 8192; m.intermediate = 28672; m.layers = 80; m.q_heads = 64; m.kv_heads = 8;
    m.head_dim = 128; m.vocab = 128256;
  } else if (name == "mixtral-8x7b") {
    // mistralai/Mixtral-8x7B-v0.1 config.json: num_local_experts 8, num_experts_per_tok 2, each
    // expert as wide as intermediate_size; every layer is MoE; no shared experts.
    m.hidden = 4096; m.intermediate = 14336; m.layers = 32; m.q_heads = 32; m.kv_heads = 8;
    m.head_dim = 128; m.vocab = 32000;
    m.moe = {.experts = 8, .experts_per_token = 2, .expert_intermediate = 14336};
    m.layer_ffn.assign(32, FfnKind::MoE);
  } else if (name == "qwen3-30b-a3b") {
    // Qwen/Qwen3-30B-A3B config.json: num_experts 128, num_experts_per_tok 8,
    // moe_intermediate_size 768, decoder_sparse_step 1 and no mlp_only_layers (every layer is
    // MoE), no shared experts. Its per-head q/k RMSNorms (2 x 128 weights a layer) are not modelled.
    m.hidden = 2048; m.intermediate = 6144; m.layers = 48; m.q_heads = 32; m.kv_heads = 4;
    m.head_dim = 128; m.vocab = 151936;
    m.moe = {.experts = 128, .experts_per_token = 8, .expert_intermediate = 768};
    m.layer_ffn.assign(48, FfnKind::MoE);
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

std::vector<std::string> preset_names() {
  return {"tiny", "tiny-moe", "llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "qwen3-30b-a3b"};
}

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


// --- Mixture-of-experts fields -------------------------------------------------------------

// Where a family of configs puts its MoE layers among the dense ones (as Hugging Face
// transformers' modelling code for that family decides per layer index i).
enum class MoeLayerRule {
  Every,          // Mixtral: every layer
  SparseStep,     // Qwen2/3-MoE: (i + 1) % decoder_sparse_step == 0 and i not in mlp_only_layers
  FirstKDense,    // DeepSeekMoE/V2/V3: i >= first_k_dense_replace and i % moe_layer_freq == 0
  Interleave,     // Llama 4: i in moe_layers, or (i + 1) % interleave_moe_layer_step == 0
};

// One family's config.json field names. A family is recognised by its experts field (and its
// marker field where two families share the experts field's name).
struct MoeFamily {
  const char* name;
  const char* experts_key;
  const char* marker_key;          // nullptr: none needed
  const char* expert_width_key;    // one routed expert's SwiGLU width
  const char* shared_count_key;    // nullptr: shared_count_fixed experts (when shared_width_key > 0)
  int64_t shared_count_fixed;
  const char* shared_width_key;    // nullptr: shared experts as wide as routed ones
  bool shared_expert_gate;         // a hidden x 1 gate on the shared experts' output
  const char* dense_width_key;     // the dense layers' MLP width
  MoeLayerRule layers;
};

constexpr MoeFamily kMoeFamilies[] = {
    {"Llama 4", "num_local_experts", "interleave_moe_layer_step", "intermediate_size", nullptr, 1, "intermediate_size",
     false, "intermediate_size_mlp", MoeLayerRule::Interleave},
    {"Mixtral", "num_local_experts", nullptr, "intermediate_size", nullptr, 0, nullptr, false, "intermediate_size",
     MoeLayerRule::Every},
    {"Qwen-MoE", "num_experts", nullptr, "moe_intermediate_size", nullptr, 1, "shared_expert_intermediate_size", true,
     "intermediate_size", MoeLayerRule::SparseStep},
    {"DeepSeekMoE", "n_routed_experts", nullptr, "moe_intermediate_size", "n_shared_experts", 0, nullptr, false,
     "intermediate_size", MoeLayerRule::FirstKDense},
};

class ConfigFields {
 public:
  ConfigFields(const nlohmann::json& j, const std::string& path) : j_(j), path_(path) {}
  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  int64_t get_int(const char* key) const {
    if (!has(key)) fail(std::string("lacks '") + key + "'");
    if (!j_.at(key).is_number_integer()) fail(std::string("'") + key + "' is not an integer");
    return j_.at(key).get<int64_t>();
  }
  int64_t get_int_or(const char* key, int64_t fallback) const { return has(key) ? get_int(key) : fallback; }
  std::vector<int64_t> get_int_list(const char* key) const {
    std::vector<int64_t> v;
    if (!has(key)) return v;
    if (!j_.at(key).is_array()) fail(std::string("'") + key + "' is not a list");
    for (const auto& x : j_.at(key)) {
      if (!x.is_number_integer()) fail(std::string("'") + key + "' holds a non-integer");
      v.push_back(x.get<int64_t>());
    }
    return v;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw UsageError("model config '" + path_ + "': " + what);
  }

 private:
  const nlohmann::json& j_;
  const std::string& path_;
};

bool contains(const std::vector<int64_t>& v, int64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::vector<FfnKind> moe_layer_kinds(const MoeFamily& f, const ConfigFields& c, int64_t layers) {
  std::vector<FfnKind> kinds(static_cast<size_t>(layers), FfnKind::Dense);
  auto positive = [&](const char* key, int64_t fallback) {
    const int64_t v = c.get_int_or(key, fallback);
    if (v <= 0) c.fail(std::string("'") + key + "' must be positive");
    return v;
  };
  const std::vector<int64_t> mlp_only = c.get_int_list("mlp_only_layers");
  const std::vector<int64_t> listed = c.get_int_list("moe_layers");
  for (int64_t i = 0; i < layers; ++i) {
    bool moe = true;
    switch (f.layers) {
      case MoeLayerRule::Every: break;
      case MoeLayerRule::SparseStep:
        moe = (i + 1) % positive("decoder_sparse_step", 1) == 0 && !contains(mlp_only, i);
        break;
      case MoeLayerRule::FirstKDense:
        moe = i >= c.get_int_or("first_k_dense_replace", 0) && i % positive("moe_layer_freq", 1) == 0;
        break;
      case MoeLayerRule::Interleave:
        moe = c.has("moe_layers") ? contains(listed, i) : (i + 1) % positive("interleave_moe_layer_step", 1) == 0;
        break;
    }
    if (moe) kinds[static_cast<size_t>(i)] = FfnKind::MoE;
  }
  return kinds;
}

// Reads the MoE block of a config.json into m (layer_ffn, moe and, for families whose dense
// layers have their own width field, intermediate). A config of no known family stays dense.
void read_moe_fields(const nlohmann::json& j, const std::string& path, ModelSpec& m) {
  const ConfigFields c(j, path);
  const MoeFamily* family = nullptr;
  for (const MoeFamily& f : kMoeFamilies)
    if (c.has(f.experts_key) && (f.marker_key == nullptr || c.has(f.marker_key))) {
      family = &f;
      break;
    }
  if (family == nullptr) {
    // Expert fields of a family the table does not know (OLMoE's, ERNIE's, gpt-oss's, ...):
    // refused, never read as a dense model.
    for (const char* key : {"moe_num_experts", "num_experts_per_tok", "experts_per_token", "moe_intermediate_size"})
      if (c.has(key)) c.fail(std::string("'") + key + "' belongs to a mixture-of-experts layout that is not read");
    return;
  }
  const MoeFamily& f = *family;
  const int64_t experts = c.get_int(f.experts_key);
  if (experts == 0 && f.layers == MoeLayerRule::SparseStep) return;  // Qwen-MoE's num_experts 0: all dense
  m.moe.experts = experts;
  m.moe.experts_per_token = c.get_int("num_experts_per_tok");
  m.moe.expert_intermediate = c.get_int(f.expert_width_key);
  const int64_t shared_width = f.shared_width_key ? c.get_int_or(f.shared_width_key, 0) : m.moe.expert_intermediate;
  const int64_t shared_count = f.shared_count_key ? c.get_int_or(f.shared_count_key, 0) : f.shared_count_fixed;
  if (shared_width > 0 && shared_count > 0) {
    m.moe.shared_experts = shared_count;
    m.moe.shared_intermediate = shared_width;
    m.moe.shared_expert_gate = f.shared_expert_gate;
  }
  if (m.layers > 0 && m.layers <= 4096) m.layer_ffn = moe_layer_kinds(f, c, m.layers);
  if (m.moe_layer_count() < m.layers) m.intermediate = c.get_int(f.dense_width_key);
}

// --- Attention the plans do not model ------------------------------------------------------

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
  read_moe_fields(j, path, m);
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
  // Dense MLPs are sharded by their width (MoE layers' experts are checked by the plans).
  if (m.moe_layer_count() < m.layers && m.intermediate % tp != 0)
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
