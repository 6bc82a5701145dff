#pragma once
// Runs a helper program (the plot script) without a shell: arguments are passed as they are, so
// a path with quotes or `$(...)` in it is a path, never a command.
#include <string>
#include <vector>

namespace tpbench {

// Runs argv[0] (looked up on PATH) with argv, its stdout and stderr discarded, and waits for it.
// Returns its exit status, or -1 when it could not be started or did not exit normally.
int run_quietly(const std::vector<std::string>& argv);

}  // namespace tpbench
