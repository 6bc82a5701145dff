#pragma once
// Builds the [batch x vocab] logits of a step from the ranks' output buffers (each rank holds
// some sequences, and under vocab parallelism the vocabulary in slices). Shared by backends.
#include <vector>

#include "harness/plan/step_program.hpp"

namespace tpbench {

// `outputs[i]` is rank i's whole output buffer (FP32); ranks absent from `outputs` (emulated
// ranks) are skipped only when allow_missing is set. Throws std::logic_error when two ranks
// disagree on an element or an element is produced by no rank.
std::vector<float> assemble_logits(const StepProgram& p, const std::vector<std::vector<float>>& outputs,
                                   bool allow_missing = false);

}  // namespace tpbench
