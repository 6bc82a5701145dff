#pragma once
// Which ops of a rank the cuda backend times before the first step (CudaRank::prepare), so that
// no kernel choice is timed during a step, beside the communication stream's collectives:
// every decode GEMM (1 to 16 rows: the skinny kernel against cuBLASLt) and every attention op
// (the library against the project's kernel, or the library's plan for prefill).
// Host-only: unit-tested without a GPU.
#include <vector>

#include "harness/plan/step_program.hpp"

namespace tpbench {

struct TuningOps {
  std::vector<int> gemms;       // op indices, program order
  std::vector<int> attentions;  // op indices, program order
};

TuningOps ops_to_tune(const RankProgram& r);

}  // namespace tpbench
