#include "harness/common/interrupt.hpp"

#include <atomic>
#include <csignal>

namespace tpbench {
namespace {
// A signal handler can only communicate through a lock-free flag of static storage: this is
// the one mutable global of the tool, written only by the handler and the guard. Atomic (not
// only volatile) because the rank threads read it while the handler runs on another thread.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "a signal handler may only touch lock-free atomics");

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

void on_stop_signal(int sig) {
  g_signal = sig;
  // A second signal terminates at once (sigaction is async-signal-safe).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (const int s : kStopSignals) sigaction(s, &dfl, nullptr);
}
}  // namespace

InterruptGuard::InterruptGuard() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 3; ++i) {
    sigaction(kStopSignals[i], nullptr, &previous_[i]);
    // nohup ignores SIGHUP so that the run outlives its terminal: keep that. SIGINT is taken
    // even when ignored, as a shell ignores it for a background job (`tpbench sweep ... &`)
    // which `kill -INT` should still stop cleanly.
    if (kStopSignals[i] != SIGHUP || previous_[i].sa_handler != SIG_IGN) sigaction(kStopSignals[i], &sa, nullptr);
  }
}

InterruptGuard::~InterruptGuard() {
  for (int i = 0; i < 3; ++i) sigaction(kStopSignals[i], &previous_[i], nullptr);
  g_signal = 0;  // the request was for the run this guard covered
}

bool InterruptGuard::requested() { return g_signal.load(std::memory_order_relaxed) != 0; }

int InterruptGuard::signal_number() { return g_signal.load(std::memory_order_relaxed); }

}  // namespace tpbench
