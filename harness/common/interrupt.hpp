#pragma once
// Stopping long runs on SIGINT, SIGTERM and SIGHUP (Ctrl-C, `timeout`, Slurm, systemd, docker
// stop, a closed terminal): the first signal asks the run to stop; the work in progress checks
// between operations (ops of a step, rows of a buffer it fills) and unwinds with Interrupted,
// so the finished points are written with the run marked interrupted. A second signal
// terminates at once, as the default action would; the document on disk is then the last one
// written, which is marked incomplete until the run ends.
#include <signal.h>

#include <stdexcept>

namespace tpbench {

// Thrown by throw_if_interrupted(): work abandoned because a stop was requested.
class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted") {}
};

class InterruptGuard {
 public:
  InterruptGuard();   // installs the handlers (not for SIGHUP when ignored, as under nohup)
                      // and clears any earlier request
  ~InterruptGuard();  // restores the previous actions
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  static bool requested();
  static int signal_number();  // the signal that asked for the stop, 0 if none

 private:
  struct sigaction previous_[3] {};  // SIGINT, SIGTERM, SIGHUP
};

// Throws Interrupted when a stop was requested (cheap: one load of a flag).
inline void throw_if_interrupted() {
  if (InterruptGuard::requested()) throw Interrupted();
}

}  // namespace tpbench
