#pragma once
// Reads a whole input file named on the command line (CSV, JSON, a model config; a pipe such as
// `<(...)` too), refusing what would hang or exhaust memory: a directory, or more bytes than any
// input this tool reads (a huge file, or an endless device such as /dev/zero).
#include <cstdint>
#include <string>

namespace tpbench {

constexpr std::uintmax_t kMaxInputBytes = std::uintmax_t(256) << 20;

// `what` names the kind of file in messages ("profile", "model config", "CSV"; "" for none).
// Throws UsageError, one line naming the path and the problem.
std::string read_input_file(const std::string& path, const std::string& what = "");

}  // namespace tpbench
