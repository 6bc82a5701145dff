#pragma once
// The vLLM command lines that deploy a recommended layout at its concurrency.
#include <string>
#include <vector>

#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/sim/layout.hpp"

namespace tpbench {

enum class ServingRole { Replica, Prefill, Decode };
const char* serving_role_name(ServingRole r);  // "replica", "prefill", "decode"

struct ServingCommand {
  ServingRole role = ServingRole::Replica;
  int instances = 0;     // how many copies of this command run (llm-d: the role's replicas)
  int tp = 0;
  int ep = 1;            // expert parallelism of the pool's instances (MoE models)
  int max_num_seqs = 0;
  std::string command;   // one `vllm serve` line; empty when vLLM cannot express the pool
  std::string not_expressible;  // why no vLLM command deploys the pool (empty when `command` does)
  std::string pool_name() const { return "TP" + std::to_string(tp) + (ep > 1 ? "EP" + std::to_string(ep) : ""); }
};

// One command per pool. --max-num-seqs is the most requests one instance of the pool ever holds
// at `concurrency` behind a least-loaded router (ceil(C / instances), at most the simulated
// engine's max_num_seqs), so the batch the prediction assumes is also the cap the engine
// enforces; --max-num-batched-tokens and --gpu-memory-utilization are the simulated engine's;
// --max-model-len is ISL + OSL so that vLLM accepts an instance whose KV cache holds only a few
// such requests (it refuses to start when one max-model-len sequence does not fit).
// Expert parallelism: EP = TP adds --enable-expert-parallel (vLLM then spreads the experts over
// all TP x DP ranks, DP being 1 here); EP1 is vLLM's default (each expert sharded over the TP
// ranks). 1 < EP < TP (experts sharded within groups of TP/EP ranks) has no vLLM flag: such a
// pool gets no command and says why in `not_expressible`.
std::vector<ServingCommand> serving_commands(const Layout& layout, int concurrency, const std::string& model_id,
                                             int64_t isl, int64_t osl, const PerfParams& par);

// What `vllm serve` is given for the model: a preset's Hugging Face repository, a config.json's
// `_name_or_path`, or else the folder holding the config.json.
std::string served_model_id(const ModelSpec& m, const std::string& config_path);

}  // namespace tpbench
