#include "harness/model/model_json.hpp"

#include <vector>

namespace tpbench {

nlohmann::json moe_to_json(const ModelSpec& m) {
  std::vector<int> moe_layers;
  for (int64_t l = 0; l < m.layers; ++l)
    if (m.ffn_kind(l) == FfnKind::MoE) moe_layers.push_back(int(l));
  return {{"routed", m.moe.experts},
          {"per_token", m.moe.experts_per_token},
          {"intermediate_size", m.moe.expert_intermediate},
          {"shared", m.moe.shared_experts},
          {"shared_intermediate_size", m.moe.shared_intermediate},
          {"moe_layers", m.moe_layer_count()},
          {"moe_layer_list", moe_layers}};
}

}  // namespace tpbench
