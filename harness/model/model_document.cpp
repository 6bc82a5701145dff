#include "harness/model/model_document.hpp"

namespace tpbench {
namespace {

// The mixture-of-experts part, present for models with MoE layers only.
nlohmann::json experts_json(const ModelSpec& m) {
  return {{"routed", m.moe.experts},
          {"per_token", m.moe.experts_per_token},
          {"intermediate_size", m.moe.expert_intermediate},
          {"shared", m.moe.shared_experts},
          {"shared_intermediate_size", m.moe.shared_intermediate},
          {"moe_layers", m.moe_layer_count()}};
}

}  // namespace

nlohmann::json model_to_json(const ModelSpec& m) {
  nlohmann::json j = {{"name", m.name},
                      {"hidden_size", m.hidden},
                      {"intermediate_size", m.intermediate},
                      {"num_hidden_layers", m.layers},
                      {"num_attention_heads", m.q_heads},
                      {"num_key_value_heads", m.kv_heads},
                      {"head_dim", m.head_dim},
                      {"vocab_size", m.vocab},
                      {"tie_word_embeddings", m.tied_embeddings},
                      {"dtype", dtype_name(m.dtype)},
                      {"weight_dtype", dtype_name(m.weight_dtype)},
                      {"kv_dtype", dtype_name(m.kv_dtype)},
                      {"parameters", m.total_params()},
                      {"active_parameters_per_token", m.active_params()},
                      {"weight_bytes", m.weight_bytes()},
                      {"kv_bytes_per_token", m.kv_bytes_per_token()}};
  if (m.has_moe_layers()) j["experts"] = experts_json(m);
  return j;
}

}  // namespace tpbench
