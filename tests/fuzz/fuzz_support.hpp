#pragma once
// Shared by the libFuzzer targets of this folder. The property each target checks: a parser of
// user input either accepts (and, where the tool has a writer, what it writes reads back the
// same) or throws UsageError, the error that becomes one line and exit code 2. Any other
// exception escapes LLVMFuzzerTestOneInput and aborts the run, as does a failed FUZZ_CHECK (a
// round trip, or what an accepted input must satisfy); AddressSanitizer and
// UndefinedBehaviorSanitizer report the rest.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "harness/common/error.hpp"

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace tpbench::fuzz {

inline std::string as_text(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs `parse`; a UsageError is an accepted answer to bad input, anything else propagates.
template <class F>
int accept_or_usage_error(F&& parse) {
  try {
    parse();
  } catch (const UsageError&) {
  }
  return 0;
}

// For the readers that take a path only: the input written to one file per process (under
// $TMPDIR, else /tmp), rewritten on every call and removed at exit.
class InputFile {
 public:
  explicit InputFile(const char* suffix) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir && *dir ? dir : "/tmp") + "/tpbench_fuzz_" + std::to_string(getpid()) + suffix;
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() { std::remove(path_.c_str()); }
  const std::string& write(const uint8_t* data, size_t size) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
    out.close();
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", path_.c_str());
      std::abort();
    }
    return path_;
  }

 private:
  std::string path_;
};

}  // namespace tpbench::fuzz
