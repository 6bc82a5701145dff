#pragma once
// What a Hugging Face config.json may describe that ModelSpec cannot: experts, quantized
// weights, windowed or latent attention, bias vectors, other architectures. Reading such a
// config as the dense BF16 Llama-shaped model that ModelSpec holds would give numbers for a
// model that is not the one described, so the reader refuses it by name instead.
#include <string>

#include <nlohmann/json.hpp>

namespace tpbench {

// Throws UsageError naming `path` and the first field (in the order of the table in the .cpp)
// whose value changes the model in a way ModelSpec does not represent, or an architecture /
// model_type outside the supported set. Fields whose value has no effect (null, false, 0, a
// sliding window switched off or as long as the longest sequence) are accepted.
void refuse_unmodelled_config(const nlohmann::json& config, const std::string& path);

}  // namespace tpbench
