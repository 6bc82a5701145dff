#pragma once
// Writes files so that a reader never sees a half-written one: a temporary file beside the
// target (a new name made with mkstemp, so nothing planted there is followed), flushed, given
// the mode of the file it replaces, then renamed over it. Used for every JSON/markdown/CSV the
// tool writes.
#include <string>
#include <vector>

namespace tpbench {

// Throws UsageError naming the path when the directory is missing or not writable, or the
// write fails (a full disk): the file then holds what it held before.
void write_file_atomic(const std::string& path, const std::string& contents);

// An advisory lock (flock) on `<target>.lock` for a run that rewrites one output many times
// (sweep): a second run given the same output is refused instead of silently replacing the
// first one's points. Throws UsageError when another process holds it. The lock file is
// removed when the lock is released.
class OutputLock {
 public:
  explicit OutputLock(const std::string& path);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  std::string lock_path_;
  int fd_ = -1;
};

// Checks up front (before any work) that `path` can be created: its directory exists and is
// writable, and what stands there now, if anything, is a regular file (through a symbolic link:
// the link is kept and its target rewritten; a device, pipe or directory is refused) that is
// none of `inputs` (the files this run reads: writing one would replace what it was computed
// from). Throws UsageError naming the problem. Creates nothing.
void check_writable(const std::string& path, const std::vector<std::string>& inputs = {});

}  // namespace tpbench
