#pragma once
#include <ostream>

namespace tpbench {
// `tpbench models`: the presets with parameter count and weight bytes.
int run_models(std::ostream& out);
}  // namespace tpbench
