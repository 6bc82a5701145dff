#pragma once
// When each op of a two-stream program finishes, as the backends run it: each stream executes
// its ops in program order; an op starts when its stream is free and every op it depends on
// (on the other stream) has finished. Sections (prologue, layers, LM head) are captured and
// timed apart, so every stream joins at a section's end before the next one starts.
#include <vector>

#include "harness/plan/step_program.hpp"

namespace tpbench {

// Finish times of ops [begin, end) given their durations (indexed like ops), starting at
// `start`: finish[i] for i in the range; other entries are left as they are.
void schedule_ops(const std::vector<Op>& ops, const std::vector<double>& duration, int begin, int end, double start,
                  std::vector<double>& finish);

// The time the section [begin, end) takes (its last op to finish, minus `start`).
double section_time(const std::vector<Op>& ops, const std::vector<double>& duration, int begin, int end);

// The step's time: prologue, layers and LM head sections one after the other.
double step_critical_path(const RankProgram& r, const std::vector<double>& duration);

}  // namespace tpbench
