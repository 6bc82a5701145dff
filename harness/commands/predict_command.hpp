#pragma once
// `tpbench predict`: simulated serving curves from a system profile (no llm-d input).
#include <ostream>
#include <string>
#include <vector>

#include "harness/report/table.hpp"

namespace tpbench {

struct PredictOptions {
  std::string profile = "h100-sxm";
  std::string model = "llama-3.1-70b";
  std::string model_config;           // HF config.json; overrides model
  std::string weight_dtype, kv_dtype;   // "bf16" | "fp8"; empty: the model's own
  std::string layouts = "1R-TP2,1R-TP4,1R-TP8";
  std::string concurrency = "1,8,32,64,128,256";
  int64_t isl = 10000, osl = 1000;
  std::string plan = "tp", overlap = "none";  // how every instance runs its steps
  int split_chunks = 2;
  int prompts_per_user = 10;
  double kv_link_gbps = 0;            // GB/s per rank; 0: the profile's
  std::vector<std::string> set;       // NAME=VALUE parameter overrides (e.g. from `tpbench fit`)
  std::string measured;               // sweep JSON files, comma-separated: measured step times
  std::string measured_plan, measured_overlap;  // which sweep points to use; "": tp/none or the only one
  std::string out;                    // JSON file
  std::string command_line;
  TableFormat format = TableFormat::Text;  // how the tables are printed (--format)
};

int run_predict(const PredictOptions& o, std::ostream& out);

}  // namespace tpbench
