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
// Where the bytes go: a symbolic link's final target (so the link survives the rename, and a
// link to a file not yet written creates that file), else the path itself.
fs::path output_target(const std::string& path) {
  fs::path p(path);
  for (int hops = 0; hops < 40; ++hops) {
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(p, ec))) return p;
    const fs::path next = fs::read_symlink(p, ec);
    if (ec) throw UsageError("cannot write '" + path + "': cannot read the link: " + ec.message());
    p = next.is_absolute() ? next : p.parent_path() / next;
  }
  throw UsageError("cannot write '" + path + "': too many levels of symbolic links");
}
}  // namespace

void check_writable(const std::string& path, const std::vector<std::string>& inputs) {
  if (path.empty()) throw UsageError("output path is empty");
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw UsageError("cannot write '" + path + "': it is a directory");
  const fs::path target = output_target(path);
  const fs::file_status st = fs::status(target, ec);
  if (fs::exists(st) && !fs::is_regular_file(st))
    throw UsageError("cannot write '" + path + "': it exists and is not a regular file");
  const fs::path dir = parent_dir(target.string());
  if (!fs::is_directory(dir, ec))
    throw UsageError("cannot write '" + path + "': directory '" + dir.string() + "' does not exist");
  if (::access(dir.c_str(), W_OK) != 0)
    throw UsageError("cannot write '" + path + "': directory '" + dir.string() + "' is not writable");
  if (fs::exists(st) && ::access(target.c_str(), W_OK) != 0)
    throw UsageError("cannot write '" + path + "': file is not writable");
  for (const std::string& in : inputs)
    if (!in.empty() && fs::exists(st) && fs::equivalent(target, fs::path(in), ec))
      throw UsageError("cannot write '" + path + "': it is the input file '" + in + "'");
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  check_writable(path);
  const std::string out = output_target(path).string();
  const std::string tmp = out + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw UsageError("cannot write '" + path + "': " + std::strerror(errno));
  const bool ok = std::fwrite(contents.data(), 1, contents.size(), f) == contents.size() &&
                  std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!ok || std::rename(tmp.c_str(), out.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw UsageError("cannot write '" + path + "': " + why);
  }
}

}  // namespace tpbench
