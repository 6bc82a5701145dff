#pragma once
// `tpbench compare`: reference (llm-d CSV, or any points file) against a prediction or sweep.
#include <cstdint>
#include <ostream>
#include <string>

namespace tpbench {

struct CompareOptions {
  std::string reference;   // CSV (llm-d) or JSON points
  std::string predicted;   // prediction JSON, or sweep JSON (measured)
  std::string per_user;    // "", out_div_conc, inv_tpot
  bool per_point = false;
  std::string json;        // write the comparison JSON here
  int64_t sweep_context = 0;  // sweep JSON: use the points of this context only (0: the only one)
  std::string sweep_plan, sweep_overlap;  // sweep JSON: which plan / overlap (empty: the one vLLM runs, else the only one)
};

int run_compare(const CompareOptions& o, std::ostream& out);

}  // namespace tpbench
