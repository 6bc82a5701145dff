#pragma once
// `tpbench fit`: at most four named parameters fitted on training configurations of a
// reference, with the held-out error on every other configuration.
#include <ostream>
#include <string>
#include <vector>

#include "harness/observations/observations.hpp"
#include "harness/report/table.hpp"

namespace tpbench {

struct FitOptions {
  std::string reference;
  std::string train = "1R-TP4";     // comma list of configurations
  std::string params;               // comma list; empty: the default four
  std::string profile = "h100-sxm";
  std::string model = "llama-3.1-70b";
  std::string model_config;
  std::string weight_dtype, kv_dtype;   // "bf16" | "fp8"; empty: the model's own
  int64_t isl = 10000, osl = 1000;
  std::string plan = "tp", overlap = "none";  // how every instance runs its steps
  int split_chunks = 2;
  int max_evals = 3000;  // enough to converge: the fit reports whether it did
  bool per_point = false;
  std::string json;
  std::string command_line;  // recorded in the JSON document
  SweepSelection sweep;  // which of a sweep JSON's points to use (observations.hpp)
  TableFormat format = TableFormat::Text;  // how the tables are printed (--format)
};

int run_fit(const FitOptions& o, std::ostream& out);

}  // namespace tpbench
