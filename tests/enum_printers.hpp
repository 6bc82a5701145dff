#pragma once
// How GoogleTest prints the plan enums (it finds PrintTo by argument-dependent lookup): without
// these a parameter prints as "4-byte object <00-00 00-00>" in test names (ctest -N) and in
// failure messages.
#include <ostream>

#include "harness/plan/step_program.hpp"

namespace tpbench {

inline void PrintTo(PlanKind plan, std::ostream* os) { *os << plan_name(plan); }
inline void PrintTo(Overlap overlap, std::ostream* os) { *os << overlap_name(overlap); }

}  // namespace tpbench
