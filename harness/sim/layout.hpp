#pragma once
// Serving layouts, named as llm-d names them: "kR-TPn" (k aggregated vLLM replicas of TP n)
// and "aP-TPx bD-TPy" (a prefill instances of TP x, b decode instances of TP y). A mixture-of-
// experts model's instance may add "EPe" to its TP: "1R-TP8EP4" is one instance of 8 GPUs whose
// attention is sharded 8 ways and whose experts are spread over 4 groups of 2 GPUs (each
// expert's matrices sharded over its group); EP8 puts whole experts on each GPU.
#include <string>
#include <vector>

namespace tpbench {

struct Pool {
  int instances = 0;
  int tp = 0;
  int ep = 1;  // expert parallelism within each instance (1: experts sharded like a dense MLP)
  std::string name() const;  // "TP8", "TP8EP4"
};

struct Layout {
  bool disaggregated = false;
  Pool replicas;   // aggregated
  Pool prefill;    // PD
  Pool decode;     // PD
  std::string name() const;  // canonical form
  int num_gpus() const;
};

// Accepts "4R-TP4", "TP4" (= 1R-TP4), "2P-TP4 1D-TP8" (any whitespace between the pools), each
// TP optionally with EP ("1R-TP8EP8", "1P-TP4EP4 1D-TP8EP2"); EP must divide TP.
// Throws UsageError naming the string for anything else.
Layout parse_layout(const std::string& s);
// A comma-separated list of layouts.
std::vector<Layout> parse_layout_list(const std::string& s);

}  // namespace tpbench
