#pragma once
// Serving layouts, named as llm-d names them: "kR-TPn" (k aggregated vLLM replicas of TP n)
// and "aP-TPx bD-TPy" (a prefill instances of TP x, b decode instances of TP y).
#include <string>
#include <vector>

namespace tpbench {

struct Pool {
  int instances = 0;
  int tp = 0;
};

struct Layout {
  bool disaggregated = false;
  Pool replicas;   // aggregated
  Pool prefill;    // PD
  Pool decode;     // PD
  std::string name() const;  // canonical form
  int num_gpus() const;
};

// Accepts "4R-TP4", "TP4" (= 1R-TP4), "2P-TP4 1D-TP8" (any whitespace between the pools).
// Throws UsageError naming the string for anything else.
Layout parse_layout(const std::string& s);
// A comma-separated list of layouts.
std::vector<Layout> parse_layout_list(const std::string& s);

}  // namespace tpbench
