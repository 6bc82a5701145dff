#include "harness/recommend/serving_command.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace tpbench {
namespace {

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

ServingCommand pool_command(ServingRole role, const Pool& pool, int concurrency, const std::string& model_id,
                            int64_t max_model_len, const PerfParams& par) {
  ServingCommand c;
  c.role = role;
  c.instances = pool.instances;
  c.tp = pool.tp;
  c.ep = pool.ep;
  const int64_t per_instance = (int64_t(concurrency) + pool.instances - 1) / pool.instances;
  c.max_num_seqs = int(std::min<int64_t>(per_instance, par.max_num_seqs));
  if (pool.ep > 1 && pool.ep < pool.tp) {
    c.not_expressible = "vLLM cannot deploy " + pool.name() + ": --enable-expert-parallel spreads the experts over "
                        "all " + std::to_string(pool.tp) + " ranks (EP" + std::to_string(pool.tp) +
                        ") and without it each expert is sharded over all of them (EP1); no flag shards each "
                        "expert within groups of " + std::to_string(pool.tp / pool.ep) + " ranks";
    return c;
  }
  char util[32];
  std::snprintf(util, sizeof util, "%.2f", par.gpu_memory_utilization);
  c.command = "vllm serve " + shell_quote(model_id) + " --tensor-parallel-size " + std::to_string(pool.tp) +
              " --max-num-seqs " + std::to_string(c.max_num_seqs) + " --max-num-batched-tokens " +
              std::to_string(par.max_num_batched_tokens) + " --gpu-memory-utilization " + util + " --max-model-len " +
              std::to_string(max_model_len);
  // vLLM's expert parallelism: with --enable-expert-parallel the EP size is TP x DP (DP 1 here),
  // so whole experts sit on each of the TP ranks (docs.vllm.ai/en/latest/serving/
  // expert_parallel_deployment/, "Configuration").
  if (pool.ep > 1) c.command += " --enable-expert-parallel";
  // The roles' KV connector as llm-d's P/D guide deploys vLLM (llm-d/llm-d,
  // guides/pd-disaggregation/modelserver/gpu/vllm/base/disaggregatedset.yaml): NIXL, the prefill
  // instances producing KV and the decode instances consuming it; llm-d runs `replicas` pods of
  // each role, the decode pods behind its routing sidecar.
  if (role == ServingRole::Prefill)
    c.command += " --kv-transfer-config '{\"kv_connector\":\"NixlConnector\",\"kv_role\":\"kv_producer\"}'";
  if (role == ServingRole::Decode)
    c.command += " --kv-transfer-config '{\"kv_connector\":\"NixlConnector\",\"kv_role\":\"kv_consumer\"}'";
  return c;
}

}  // namespace

const char* serving_role_name(ServingRole r) {
  switch (r) {
    case ServingRole::Replica: return "replica";
    case ServingRole::Prefill: return "prefill";
    case ServingRole::Decode: return "decode";
  }
  return "?";
}

std::vector<ServingCommand> serving_commands(const Layout& layout, int concurrency, const std::string& model_id,
                                             int64_t isl, int64_t osl, const PerfParams& par) {
  if (!layout.disaggregated)
    return {pool_command(ServingRole::Replica, layout.replicas, concurrency, model_id, isl + osl, par)};
  // A prefill instance returns one token per request (llm-d's sidecar asks it for max_tokens 1).
  return {pool_command(ServingRole::Prefill, layout.prefill, concurrency, model_id, isl + 1, par),
          pool_command(ServingRole::Decode, layout.decode, concurrency, model_id, isl + osl, par)};
}

std::string served_model_id(const ModelSpec& m, const std::string& config_path) {
  // The presets' checkpoints on Hugging Face: Meta's Llama (huggingface.co/meta-llama).
  if (config_path.empty()) {
    if (m.name == "llama-3.1-70b") return "meta-llama/Llama-3.1-70B-Instruct";
    if (m.name == "llama-3.1-8b") return "meta-llama/Llama-3.1-8B-Instruct";
    // The mixtures of experts as Mistral AI and Qwen publish them (huggingface.co/mistralai,
    // huggingface.co/Qwen), the checkpoints the presets' configs come from.
    if (m.name == "mixtral-8x7b") return "mistralai/Mixtral-8x7B-v0.1";
    if (m.name == "qwen3-30b-a3b") return "Qwen/Qwen3-30B-A3B";
    return m.name;
  }
  if (m.name != config_path) return m.name;  // the config's _name_or_path
  const std::filesystem::path dir = std::filesystem::path(config_path).parent_path();
  return dir.empty() ? "." : dir.string();
}

}  // namespace tpbench
