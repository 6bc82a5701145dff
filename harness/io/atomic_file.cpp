#include "harness/io/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "harness/common/error.hpp"

namespace tpbench {
namespace fs = std::filesystem;

namespace {
fs::path parent_dir(const std::string& path) {
  fs::path p(path);
  fs::path dir = p.parent_path();
  return dir.empty() ? fs::path(".") : dir;
}
}  // namespace

void check_writable(const std::string& path) {
  if (path.empty()) throw UsageError("output path is empty");
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw UsageError("cannot write '" + path + "': it is a directory");
  const fs::path dir = parent_dir(path);
  if (!fs::is_directory(dir, ec))
    throw UsageError("cannot write '" + path + "': directory '" + dir.string() + "' does not exist");
  if (::access(dir.c_str(), W_OK) != 0)
    throw UsageError("cannot write '" + path + "': directory '" + dir.string() + "' is not writable");
  if (fs::exists(path, ec) && ::access(path.c_str(), W_OK) != 0)
    throw UsageError("cannot write '" + path + "': file is not writable");
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  check_writable(path);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw UsageError("cannot write '" + path + "': " + std::strerror(errno));
  const bool ok = std::fwrite(contents.data(), 1, contents.size(), f) == contents.size() &&
                  std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw UsageError("cannot write '" + path + "': " + why);
  }
}

}  // namespace tpbench
