#include "harness/io/input_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

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
  // O_NONBLOCK for the open only: a named pipe nobody writes to would block open(2) for ever;
  // opened this way, reading it finds no writer and ends at once (an empty input).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw UsageError("cannot read " + name + ": " + std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    throw UsageError("cannot read " + name + ": " + std::strerror(errno));
  // Read in pieces up to the cap, so that a pipe (`<(...)`) works and an endless device
  // (/dev/zero) stops at the cap instead of exhausting memory.
  std::string text;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw UsageError("cannot read " + name + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, size_t(n));
    if (text.size() > kMaxInputBytes) throw UsageError(too_large);
  }
  return text;
}

}  // namespace tpbench
