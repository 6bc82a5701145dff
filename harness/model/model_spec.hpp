#pragma once
// ModelSpec: the shape of a decoder-only transformer (Llama family), from a preset or a
// Hugging Face config.json. Everything else (plans, memory, roofline) derives from it.
#include <cstdint>
#include <string>
#include <vector>

namespace tpbench {

// FP8E4M3: OCP E4M3 (4 exponent bits, 3 mantissa bits, max 448) with one FP32 scale per tensor,
// as vLLM's FP8 checkpoints (quant_method "fp8") and kv_cache_dtype=fp8 store weights and KV.
enum class DType { F32, BF16, F16, FP8E4M3 };

int dtype_bytes(DType t);
const char* dtype_name(DType t);
DType parse_dtype(const std::string& s);  // "bfloat16", "bf16", "float32", ... ; throws UsageError
// The storage types of --weight-dtype and --kv-dtype: "bf16" (or "bfloat16") and "fp8" (or
// "fp8_e4m3", "float8_e4m3fn"). `what` names the option in the error. Throws UsageError.
DType parse_storage_dtype(const std::string& s, const char* what);

struct ModelSpec {
  std::string name;
  int64_t hidden = 0;        // hidden_size
  int64_t intermediate = 0;  // intermediate_size (SwiGLU: gate and up are each this wide)
  int64_t layers = 0;        // num_hidden_layers
  int64_t q_heads = 0;       // num_attention_heads
  int64_t kv_heads = 0;      // num_key_value_heads (GQA)
  int64_t head_dim = 0;      // head_dim, or hidden / q_heads
  int64_t vocab = 0;         // vocab_size
  bool tied_embeddings = false;
  // Precision: `dtype` is the activations' and every weight's but the layers' linear ones
  // (embedding, LM head and norms stay in it, as vLLM's FP8 checkpoints keep them);
  // `weight_dtype` is the layers' linear weights' (q, k, v, o, gate, up, down), `kv_dtype` the
  // KV cache's. Either may be FP8E4M3; `dtype` may not.
  DType dtype = DType::BF16;
  DType weight_dtype = DType::BF16;
  DType kv_dtype = DType::BF16;

  // Parameter counts (elements), unsharded.
  int64_t params_per_layer() const;  // qkv + o + gate/up + down + two RMSNorm weights
  int64_t linear_params_per_layer() const;  // qkv + o + gate/up + down
  int64_t embedding_params() const;  // vocab x hidden
  int64_t lm_head_params() const;    // 0 when tied (the embedding is reused)
  int64_t total_params() const;      // layers + embedding + lm head + final norm
  // The layers' linear weights at weight_dtype, everything else at dtype. FP8's per-tensor
  // scales (a few FP32 numbers per layer) are not counted: under 1e-7 of a layer's bytes.
  int64_t weight_bytes() const;
  // K and V of one token over all layers, unsharded: 2 * L * kv_heads * head_dim * kv bytes.
  int64_t kv_bytes_per_token() const;
  int64_t q_width() const { return q_heads * head_dim; }
  int64_t kv_width() const { return kv_heads * head_dim; }

  // Throws UsageError naming the first inconsistent field.
  void validate() const;
};

// Presets: "tiny", "llama-3.1-8b", "llama-3.1-70b". Throws UsageError for an unknown name.
ModelSpec preset_model(const std::string& name);
std::vector<std::string> preset_names();

// Reads a Hugging Face config.json. Throws UsageError (naming the file and field) when the
// file is missing, not JSON, or lacks a required field. A quantization_config with quant_method
// "fp8" (per-tensor E4M3 weights) sets weight_dtype to FP8E4M3; any other method, or block-wise
// FP8 scales, is refused by name.
ModelSpec model_from_hf_config(const std::string& path);

// Checks that tensor parallelism `tp` can shard the model the way vLLM does: tp must divide
// the query heads, the intermediate size and the vocabulary; KV heads are replicated when
// tp exceeds them (then tp must be a multiple of kv_heads), otherwise tp must divide them.
void validate_tp(const ModelSpec& m, int tp);

}  // namespace tpbench
