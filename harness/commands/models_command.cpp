#include "harness/commands/models_command.hpp"

#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/model/model_document.hpp"
#include "harness/model/model_spec.hpp"

namespace tpbench {
namespace {

std::string experts_text(const ModelSpec& m) {
  if (!m.has_moe_layers()) return "-";
  std::string s = std::to_string(m.moe.experts_per_token) + "/" + std::to_string(m.moe.experts);
  if (m.moe.shared_experts > 0) s += "+" + std::to_string(m.moe.shared_experts) + "sh";
  return s;
}

void print_table(const std::vector<ModelSpec>& models, std::ostream& out) {
  char line[320];
  std::snprintf(line, sizeof line, "%-16s %7s %6s %9s %5s %5s %8s %11s %8s %9s %11s %12s %11s\n", "model", "hidden",
                "inter", "layers", "heads", "kv", "vocab", "experts", "e.inter", "params B", "active B",
                "weights GB", "KV B/token");
  out << line;
  for (const ModelSpec& m : models) {
    const std::string layers = m.has_moe_layers() ? std::to_string(m.layers) + "(" + std::to_string(m.moe_layer_count()) + "M)"
                                                  : std::to_string(m.layers);
    const std::string expert_width = m.has_moe_layers() ? std::to_string(m.moe.expert_intermediate) : "-";
    std::snprintf(line, sizeof line, "%-16s %7lld %6lld %9s %5lld %5lld %8lld %11s %8s %9.3f %11.3f %12.3f %11lld\n",
                  m.name.c_str(), (long long)m.hidden, (long long)m.intermediate, layers.c_str(), (long long)m.q_heads,
                  (long long)m.kv_heads, (long long)m.vocab, experts_text(m).c_str(),
                  expert_width.c_str(), m.total_params() / 1e9, m.active_params() / 1e9,
                  m.weight_bytes() / 1e9, (long long)m.kv_bytes_per_token());
    out << line;
  }
  out << "(layers: all, with MoE layers as (nM); experts: routed per token/routed, +n shared; active: the\n"
         " parameters one token passes through, embedding and LM head included, as model cards count them)\n";
}

}  // namespace

int run_models(const ModelsOptions& o, std::ostream& out) {
  std::vector<ModelSpec> models;
  if (!o.model_config.empty()) {
    models.push_back(model_from_hf_config(o.model_config));
  } else {
    for (const auto& name : preset_names()) models.push_back(preset_model(name));
  }
  if (o.json) {
    nlohmann::json a = nlohmann::json::array();
    for (const ModelSpec& m : models) a.push_back(model_to_json(m));
    out << a.dump(1) << "\n";
    return 0;
  }
  print_table(models, out);
  if (o.model_config.empty())
    out << "(presets in " << dtype_name(DType::BF16) << "; a Hugging Face config.json works through --model-config PATH;\n"
        << " fields it cannot model, such as latent or sliding-window attention, are refused by name)\n";
  return 0;
}

}  // namespace tpbench
