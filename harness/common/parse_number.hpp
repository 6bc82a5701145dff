#pragma once
// Whole-string number parsing for user input (CSV fields, --set values): the text must be a
// finite number and nothing else ("3.5x", "", "inf" are not). Header-only, no allocation.
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>

namespace tpbench {

inline std::optional<double> parse_finite_double(const std::string& s) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used == 0 || used != s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace tpbench
