#pragma once
// Parsing an enum's names at the input boundary. Each enum has one name function (a switch the
// compiler checks for exhaustiveness) and one array of all its values; the parse inverts the
// name function over that array, so a name and its parse cannot disagree.
#include <array>
#include <cstddef>
#include <string>

#include "harness/common/error.hpp"

namespace tpbench {

// The value whose name is `s`; otherwise UsageError "unknown <what> 's' (expected a, b or c)".
template <class E, std::size_t N>
E parse_enum_name(const std::string& s, const std::array<E, N>& all, const char* (*name)(E), const char* what) {
  for (const E e : all)
    if (s == name(e)) return e;
  std::string expected;
  for (std::size_t i = 0; i < N; ++i)
    expected += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(name(all[i]));
  throw UsageError("unknown " + std::string(what) + " '" + s + "' (expected " + expected + ")");
}

}  // namespace tpbench
