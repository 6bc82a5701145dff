#include "harness/io/input_file.hpp"

#include <filesystem>
#include <fstream>

#include "harness/common/error.hpp"

namespace tpbench {
namespace fs = std::filesystem;

std::string read_input_file(const std::string& path, const std::string& what) {
  const std::string name = (what.empty() ? "'" : what + " '") + path + "'";
  const std::string too_large = "cannot read " + name + ": more than the " + std::to_string(kMaxInputBytes >> 20) +
                                " MiB any input may have";
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw UsageError("cannot read " + name + ": no such file");
  if (fs::is_directory(st)) throw UsageError("cannot read " + name + ": it is a directory");
  if (fs::is_regular_file(st) && fs::file_size(path, ec) > kMaxInputBytes && !ec) throw UsageError(too_large);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read " + name);
  // Read in pieces up to the cap, so that a pipe (`<(...)`) works and an endless device
  // (/dev/zero) stops at the cap instead of exhausting memory.
  std::string text;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, size_t(in.gcount()));
    if (text.size() > kMaxInputBytes) throw UsageError(too_large);
  }
  return text;
}

}  // namespace tpbench
