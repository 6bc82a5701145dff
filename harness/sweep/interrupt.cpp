#include "harness/sweep/interrupt.hpp"

#include <csignal>

namespace tpbench {
namespace {
// A signal handler can only communicate through a lock-free flag of static storage: this is
// the one mutable global of the tool, written only by the handler and the guard.
volatile std::sig_atomic_t g_interrupted = 0;

void on_sigint(int) {
  g_interrupted = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C terminates at once
}
}  // namespace

InterruptGuard::InterruptGuard() {
  g_interrupted = 0;
  std::signal(SIGINT, on_sigint);
}

InterruptGuard::~InterruptGuard() { std::signal(SIGINT, SIG_DFL); }

bool InterruptGuard::requested() { return g_interrupted != 0; }

}  // namespace tpbench
