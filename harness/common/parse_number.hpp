#pragma once
// Whole-string number parsing for user input (CSV fields, --set values): the text must be a
// finite number and nothing else ("3.5x", "", "inf" are not). Header-only, no allocation.
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>

namespace tpbench {

// Plain decimal notation only: digits, one optional sign, point and exponent. std::stod alone
// would also take leading blanks, hexadecimal ("0x10" = 16), "nan" and "infinity".
inline bool looks_decimal(const std::string& s) {
  bool digit = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') {
      return false;
    }
  }
  return digit;
}

inline std::optional<double> parse_finite_double(const std::string& s) {
  if (!looks_decimal(s)) return std::nullopt;
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
