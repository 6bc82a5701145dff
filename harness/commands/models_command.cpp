#include "harness/commands/models_command.hpp"

#include <vector>

#include <nlohmann/json.hpp>

#include "harness/model/model_document.hpp"
#include "harness/model/model_spec.hpp"

namespace tpbench {
namespace {

std::string experts_text(const ModelSpec& m) {
  std::string s = std::to_string(m.moe.experts_per_token) + "/" + std::to_string(m.moe.experts);
  if (m.moe.shared_experts > 0) s += "+" + std::to_string(m.moe.shared_experts) + "sh";
  return s;
}

Table models_table(const std::vector<ModelSpec>& models) {
  using NF = NumberFormat;
  Table t;
  t.name = "models";
  t.title = "Model presets: shape, experts, parameters, weight and KV bytes";
  t.columns = {Column::words("model", "model", 16),
               Column::numbers("hidden_size", "hidden", NF::integer(), 7),
               Column::numbers("intermediate_size", "inter", NF::integer(), 6),
               Column::numbers("layers", "layers", NF::integer(), 9),
               Column::numbers("moe_layers", "MoE layers", NF::integer()).hidden_in_text(),
               Column::numbers("attention_heads", "heads", NF::integer(), 5),
               Column::numbers("kv_heads", "kv", NF::integer(), 5),
               Column::numbers("vocab_size", "vocab", NF::integer(), 8),
               Column::words("experts", "experts", 11, Align::Right).with_missing("-"),
               Column::numbers("expert_intermediate_size", "e.inter", NF::integer(), 8).with_missing("-"),
               Column::numbers("params_b", "params B", NF::fixed(3), 9).with_unit("1e9"),
               Column::numbers("active_params_b", "active B", NF::fixed(3), 11).with_unit("1e9"),
               Column::numbers("weights_gb", "weights GB", NF::fixed(3), 12).with_unit("GB"),
               Column::numbers("kv_bytes_per_token", "KV B/token", NF::integer(), 11).with_unit("B")};
  for (const ModelSpec& m : models) {
    const bool moe = m.has_moe_layers();
    const Cell layers = moe ? Cell(m.layers).shown_as(std::to_string(m.layers) + "(" + std::to_string(m.moe_layer_count()) + "M)")
                            : Cell(m.layers);
    t.add_row({m.name, m.hidden, m.intermediate, layers, m.moe_layer_count(), m.q_heads, m.kv_heads, m.vocab,
               moe ? Cell(experts_text(m)) : Cell::na(), moe ? Cell(m.moe.expert_intermediate) : Cell::na(),
               m.total_params() / 1e9, m.active_params() / 1e9, m.weight_bytes() / 1e9, m.kv_bytes_per_token()});
  }
  return t;
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
  const Table table = models_table(models);
  print_table(out, o.format, table);
  if (o.format != TableFormat::Text) return 0;
  out << "(layers: all, with MoE layers as (nM); experts: routed per token/routed, +n shared; active: the\n"
         " parameters one token passes through, embedding and LM head included, as model cards count them)\n";
  if (o.model_config.empty())
    out << "(presets in " << dtype_name(DType::BF16) << "; a Hugging Face config.json works through --model-config PATH;\n"
        << " fields it cannot model, such as latent or sliding-window attention, are refused by name)\n";
  return 0;
}

}  // namespace tpbench
