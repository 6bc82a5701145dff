#include "harness/commands/models_command.hpp"

#include <cstdio>

#include "harness/model/model_spec.hpp"

namespace tpbench {

int run_models(std::ostream& out) {
  char line[256];
  std::snprintf(line, sizeof line, "%-16s %7s %6s %6s %5s %5s %8s %14s %12s %14s\n", "model", "hidden",
                "inter", "layers", "heads", "kv", "vocab", "params", "weights GB", "KV B/token");
  out << line;
  for (const auto& name : preset_names()) {
    const ModelSpec m = preset_model(name);
    std::snprintf(line, sizeof line, "%-16s %7lld %6lld %6lld %5lld %5lld %8lld %14lld %12.3f %14lld\n",
                  name.c_str(), (long long)m.hidden, (long long)m.intermediate, (long long)m.layers,
                  (long long)m.q_heads, (long long)m.kv_heads, (long long)m.vocab,
                  (long long)m.total_params(), m.weight_bytes() / 1e9,
                  (long long)m.kv_bytes_per_token());
    out << line;
  }
  out << "(weights and KV in " << dtype_name(DType::BF16)
      << "; a Hugging Face config.json of a dense Llama or Mistral model works through --model-config PATH:\n"
      << " experts, quantization, sliding-window or latent attention and other architectures are refused by field)\n";
  return 0;
}

}  // namespace tpbench
