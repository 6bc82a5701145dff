#pragma once
// Ctrl-C handling for long runs: the first SIGINT asks the run to stop after the current
// sample (the finished points are kept); a second one kills the process as usual.
namespace tpbench {

class InterruptGuard {
 public:
  InterruptGuard();   // installs the handler
  ~InterruptGuard();  // restores the previous one
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  static bool requested();
};

}  // namespace tpbench
