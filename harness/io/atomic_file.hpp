#pragma once
// Writes files so that a reader never sees a half-written one: a temporary file beside the
// target, flushed, then renamed over it. Used for every JSON/markdown/CSV the tool writes.
#include <string>

namespace tpbench {

// Throws UsageError naming the path when the directory is missing or not writable.
void write_file_atomic(const std::string& path, const std::string& contents);

// Checks up front (before any work) that `path` can be created: its directory exists and is
// writable. Throws UsageError naming the problem. Creates nothing.
void check_writable(const std::string& path);

}  // namespace tpbench
