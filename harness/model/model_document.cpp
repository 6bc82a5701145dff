#include "harness/model/model_document.hpp"

#include "harness/model/model_json.hpp"

namespace tpbench {
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
  if (m.has_moe_layers()) j["experts"] = moe_to_json(m);
  return j;
}

}  // namespace tpbench
