#pragma once
// ModelSpec: the shape of a decoder-only transformer (Llama family, and mixture-of-experts models
// of the Mixtral, Qwen-MoE, DeepSeekMoE and Llama 4 kinds), from a preset or a Hugging Face
// config.json. Everything else (plans, memory, roofline) derives from it.
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

// The feed-forward block of one decoder layer: one SwiGLU MLP, or a mixture of experts.
enum class FfnKind { Dense, MoE };

// A mixture-of-experts feed-forward block: a router (a hidden x experts linear) picks
// experts_per_token of the `experts` routed SwiGLU experts for each token; the shared experts
// run for every token. Qwen2-MoE adds a hidden x 1 sigmoid gate on the shared experts' output.
struct MoeSpec {
  int64_t experts = 0;              // routed experts of one MoE layer
  int64_t experts_per_token = 0;    // k, the routed experts each token passes through
  int64_t expert_intermediate = 0;  // one routed expert's SwiGLU width
  int64_t shared_experts = 0;       // experts every token passes through
  int64_t shared_intermediate = 0;  // one shared expert's SwiGLU width
  bool shared_expert_gate = false;
};

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
  // Per-layer feed-forward kind, one entry per layer; empty when every layer is dense. Dense
  // layers use `intermediate`, MoE layers `moe`.
  std::vector<FfnKind> layer_ffn;
  MoeSpec moe;

  bool has_moe_layers() const;
  FfnKind ffn_kind(int64_t layer) const;
  int64_t moe_layer_count() const;

  // Parameter counts (elements), unsharded. params_per_layer and linear_params_per_layer are
  // those of a dense layer (the plans model dense layers only).
  int64_t params_per_layer() const;  // qkv + o + gate/up + down + two RMSNorm weights
  int64_t linear_params_per_layer() const;  // qkv + o + gate/up + down
  int64_t attention_params_per_layer() const;  // qkv + o
  // One MoE layer's feed-forward weights with `routed` of its routed experts: the router, the
  // routed experts, the shared experts (and their gate). Linear: the experts' matrices only.
  int64_t moe_ffn_params(int64_t routed) const;
  int64_t moe_linear_params(int64_t routed) const;
  int64_t embedding_params() const;  // vocab x hidden
  int64_t lm_head_params() const;    // 0 when tied (the embedding is reused)
  int64_t total_params() const;      // layers + embedding + lm head + final norm
  // Parameters one token passes through, as model cards count "active" parameters: everything
  // but the routed experts a token is not sent to, so attention, norms, dense MLPs, routers,
  // shared experts, experts_per_token routed experts per MoE layer, the embedding and the LM
  // head. Equals total_params() for a dense model.
  int64_t active_params() const;
  // The layers' linear weights (attention, MLPs, experts) at weight_dtype, everything else
  // (embedding, LM head, norms, routers, as vLLM's FP8 checkpoints keep them) at dtype. FP8's
  // per-tensor scales (a few FP32 numbers per layer) are not counted: under 1e-7 of a layer's bytes.
  int64_t weight_bytes() const;
  // K and V of one token over all layers, unsharded: 2 * L * kv_heads * head_dim * kv bytes.
  int64_t kv_bytes_per_token() const;
  int64_t q_width() const { return q_heads * head_dim; }
  int64_t kv_width() const { return kv_heads * head_dim; }

  // Throws UsageError naming the first inconsistent field.
  void validate() const;
  void validate_moe() const;  // the MoE part of validate()
};

// Presets: "tiny", "tiny-moe", "llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "qwen3-30b-a3b". Throws
// UsageError for an unknown name.
ModelSpec preset_model(const std::string& name);
std::vector<std::string> preset_names();

// Reads a Hugging Face config.json. Throws UsageError (naming the file and field) when the
// file is missing, not JSON, or lacks a required field. A quantization_config with quant_method
// "fp8" (per-tensor E4M3 weights) sets weight_dtype to FP8E4M3; any other method, or block-wise
// FP8 scales, is refused by name. Mixture-of-experts fields are read into layer_ffn and moe
// (Mixtral, Qwen2/3-MoE, DeepSeekMoE, Llama 4 text configs); attention the plans do not model
// (multi-head latent attention, sliding-window or chunked attention) is refused naming the field.
ModelSpec model_from_hf_config(const std::string& path);

// Checks that tensor parallelism `tp` can shard the model the way vLLM does: tp must divide
// the query heads, the intermediate size and the vocabulary; KV heads are replicated when
// tp exceeds them (then tp must be a multiple of kv_heads), otherwise tp must divide them.
void validate_tp(const ModelSpec& m, int tp);

}  // namespace tpbench
