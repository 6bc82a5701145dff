#pragma once
// `tpbench recommend`: the best deployment of a model on N GPUs for a workload (ISL/OSL) and
// latency targets, from a system profile: every layout's concurrency searched against the
// targets, the frontier, the winner and runner-up with their predicted numbers, why the winner
// wins, and the vLLM commands that deploy it.
#include <ostream>
#include <string>
#include <vector>

#include "harness/report/table.hpp"

namespace tpbench {

struct RecommendOptions {
  std::string profile = "h100-sxm";
  std::string model = "llama-3.1-70b";
  std::string model_config;          // HF config.json; overrides model
  int gpus = 0;                      // required
  int gpus_per_node = 0;             // GPUs one instance may span; 0: the profile's NVLink domain
  int64_t isl = 10000, osl = 1000;
  double ttft_ms = 0, tpot_ms = 0, min_tok_s_per_user = 0;  // 0: no target
  std::string per_user = "inv_tpot";  // or out_div_conc
  int max_concurrency = 256;
  bool aggregated_only = false;
  std::string plan = "tp", overlap = "none";
  int split_chunks = 2;
  int prompts_per_user = 10;
  double kv_link_gbps = 0;           // GB/s per rank; 0: the profile's
  std::vector<std::string> set;      // NAME=VALUE parameter overrides
  int jobs = 0;                      // 0: the machine's hardware threads
  bool progress = true;              // a progress line on stderr
  std::string out;                   // JSON document
  std::string plot;                  // PNG (scripts/plot_recommend.py)
  std::string command_line;
  TableFormat format = TableFormat::Text;  // how the tables are printed (--format)
};

int run_recommend(const RecommendOptions& o, std::ostream& out, std::ostream& err);

}  // namespace tpbench
