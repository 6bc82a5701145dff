#pragma once
// `tpbench explain`: a markdown report answering the project's three questions with numbers
// from the simulator's per-point breakdown, the KV capacity, the toy model and the reference.
#include <ostream>
#include <string>

namespace tpbench {

struct ExplainOptions {
  std::string profile = "h100-sxm";
  std::string model = "llama-3.1-70b";
  std::string model_config;
  std::string weight_dtype, kv_dtype;   // "bf16" | "fp8"; empty: the model's own
  std::string reference;     // llm-d CSV
  std::string latency;       // optional CSV of measured mean TPOT / TTFT (llm-d's latency files)
  int64_t isl = 10000, osl = 1000;
  std::string plan = "tp", overlap = "none";  // how every instance runs its steps
  int split_chunks = 2;
  std::string out;           // markdown file; stdout when empty
  bool plot = true;          // with --out: also run scripts/plot_pareto.py when python3 works
};

int run_explain(const ExplainOptions& o, std::ostream& out);

}  // namespace tpbench
