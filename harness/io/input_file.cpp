#include "harness/io/input_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/common/error.hpp"

namespace tpbench {
namespace fs = std::filesystem;

std::string read_input_file(const std::string& path, const std::string& what) {
  const std::string name = (what.empty() ? "'" : what + " '") + path + "'";
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw UsageError("cannot read " + name + ": no such file");
  if (fs::is_directory(st)) throw UsageError("cannot read " + name + ": it is a directory");
  if (!fs::is_regular_file(st)) throw UsageError("cannot read " + name + ": not a regular file");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) throw UsageError("cannot read " + name + ": " + ec.message());
  if (size > kMaxInputBytes)
    throw UsageError("cannot read " + name + ": " + std::to_string(size >> 20) + " MiB, more than the " +
                     std::to_string(kMaxInputBytes >> 20) + " MiB any input may have");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read " + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tpbench
