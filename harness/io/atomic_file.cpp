#include "harness/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
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
  // Conventionally standard output, which these documents are not written to.
  if (path == "-") throw UsageError("cannot write '-': name a file (./- for a file called '-')");
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

namespace {
// Permissions for the new file: an existing file's (rewriting a 600 file keeps it private),
// else what open(2) would give a new file under the process's umask.
mode_t output_mode(const std::string& out) {
  struct stat st {};
  if (::stat(out.c_str(), &st) == 0) return st.st_mode & 07777;
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

bool write_all(int fd, const std::string& contents) {
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}
}  // namespace

void write_file_atomic(const std::string& path, const std::string& contents) {
  check_writable(path);
  const std::string out = output_target(path).string();
  // mkstemp creates a new name with O_CREAT|O_EXCL in the target's directory: nothing planted
  // there (a symbolic link to another file) is followed, and the rename stays in one file system.
  std::string tmp = out + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw UsageError("cannot write '" + path + "': " + std::strerror(errno));
  const bool ok = ::fchmod(fd, output_mode(out)) == 0 && write_all(fd, contents) && ::fsync(fd) == 0;
  const int write_errno = errno;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), out.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : write_errno);
    ::unlink(tmp.c_str());
    throw UsageError("cannot write '" + path + "': " + why);
  }
}

OutputLock::OutputLock(const std::string& path) : lock_path_(output_target(path).string() + ".lock") {
  // A holder that finishes removes the file between our open and our flock: then the lock is on
  // a name no one else will open, so check that the locked file is still the one at the path.
  for (int attempt = 0; attempt < 5; ++attempt) {
    fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd_ < 0) throw UsageError("cannot lock '" + path + "' with '" + lock_path_ + "': " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK)
        throw UsageError("cannot write '" + path + "': another tpbench run is writing it ('" + lock_path_ + "' is locked)");
      throw UsageError("cannot lock '" + path + "' with '" + lock_path_ + "': " + std::strerror(err));
    }
    struct stat held {}, named {};
    if (::fstat(fd_, &held) == 0 && ::stat(lock_path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino)
      return;
    ::close(fd_);
    fd_ = -1;
  }
  throw UsageError("cannot lock '" + path + "': '" + lock_path_ + "' keeps being replaced");
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(lock_path_.c_str());  // while still holding it: a waiting opener then retries
  ::close(fd_);
}

}  // namespace tpbench
