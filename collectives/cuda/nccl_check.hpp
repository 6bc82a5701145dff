#pragma once
// TPBENCH_NCCL_CHECK(call): throws std::runtime_error naming the file and line of a failing NCCL
// call, NCCL's name for the error code and, when the library has it, NCCL's own last error
// message (which usually says *why*: "Duplicate GPU detected", a failed socket, ...).
// It throws rather than exits so that RAII owners (communicators, buffers) clean up; the
// watchdog (collectives/watchdog.hpp) is what turns a hang into an exit. Usable from .cu and .cpp.
#include <nccl.h>

#include <stdexcept>
#include <string>

namespace tpbench::detail {

[[noreturn]] inline void throw_nccl_error(const char* what, ncclResult_t r, const char* file, int line) {
  std::string msg = std::string(file) + ":" + std::to_string(line) + ": " + what +
                    " failed: " + ncclGetErrorString(r);
#if NCCL_VERSION_CODE >= 21300  // ncclGetLastError appeared in NCCL 2.13
  // The comm argument is unused by NCCL (the message is per thread), so nullptr is fine.
  const char* last = ncclGetLastError(nullptr);
  if (last != nullptr && last[0] != '\0') msg += std::string(" (") + last + ")";
#endif
  throw std::runtime_error(msg);
}

}  // namespace tpbench::detail

#define TPBENCH_NCCL_CHECK(call)                                                    \
  do {                                                                              \
    const ncclResult_t tpb_r_ = (call);                                             \
    if (tpb_r_ != ncclSuccess) ::tpbench::detail::throw_nccl_error(#call, tpb_r_, __FILE__, __LINE__); \
  } while (0)
// Shorter alias.
#define TPB_NCCL_CHECK(call) TPBENCH_NCCL_CHECK(call)

namespace tpbench::detail {

// ncclGroupStart .. ncclGroupEnd as a scope: end() closes the group and checks it. Leaving the
// scope by an exception closes it unchecked, so the thread is never left inside an open group
// where its later NCCL calls would be deferred (and timed as nothing) without an error. NCCL
// has no cancel: that close still submits what was queued, which can wait for peers that never
// come (a watchdog or abort ends it). Check what can fail before the group starts.
class NcclGroup {
 public:
  NcclGroup() {
    TPBENCH_NCCL_CHECK(ncclGroupStart());
    open_ = true;
  }
  ~NcclGroup() {
    if (open_) (void)ncclGroupEnd();
  }
  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;
  void end() {
    open_ = false;
    TPBENCH_NCCL_CHECK(ncclGroupEnd());
  }

 private:
  bool open_ = false;
};

}  // namespace tpbench::detail
