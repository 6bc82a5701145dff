#pragma once
// Writes files so that a reader never sees a half-written one: a temporary file beside the
// target, flushed, then renamed over it. Used for every JSON/markdown/CSV the tool writes.
#include <string>
#include <vector>

namespace tpbench {

// Throws UsageError naming the path when the directory is missing or not writable.
void write_file_atomic(const std::string& path, const std::string& contents);

// Checks up front (before any work) that `path` can be created: its directory exists and is
// writable, and what stands there now, if anything, is a regular file (through a symbolic link:
// the link is kept and its target rewritten; a device, pipe or directory is refused) that is
// none of `inputs` (the files this run reads: writing one would replace what it was computed
// from). Throws UsageError naming the problem. Creates nothing.
void check_writable(const std::string& path, const std::vector<std::string>& inputs = {});

}  // namespace tpbench
