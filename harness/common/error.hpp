#pragma once
// Errors that reach the user. UsageError is bad input (exit code 2, one line);
// everything else derives from std::runtime_error and is an internal failure.
#include <stdexcept>
#include <string>

namespace tpbench {

// Bad input from the user: unknown model, TP not dividing heads, malformed files...
// main() prints "tpbench: error: <what>" and exits with code 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& what) : std::runtime_error(what) {}
};

// The requested work cannot run here (no GPU, point too big): also exit code 2.
class UnavailableError : public std::runtime_error {
 public:
  explicit UnavailableError(const std::string& what) : std::runtime_error(what) {}
};

// One point cannot run here although the tool can (a library that fails at run time, a shape
// that no kernel of the build supports): a sweep records the point as not_runnable with this
// reason and goes on, where any other exception makes it "failed".
class NotRunnableError : public std::runtime_error {
 public:
  explicit NotRunnableError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace tpbench
