#include "collectives/watchdog_policy.hpp"

#include <cstdio>
#include <stdexcept>

namespace tpbench {

std::string format_timeout(std::chrono::milliseconds t) {
  const long long ms = t.count();
  char buf[64];
  if (ms < 1000)
    std::snprintf(buf, sizeof buf, "%lld ms", ms);
  else if (ms % 1000 == 0)
    std::snprintf(buf, sizeof buf, "%lld s", ms / 1000);
  else
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

void WatchdogPolicy::arm(TimePoint now, std::chrono::milliseconds timeout, std::string what) {
  if (timeout.count() <= 0) throw std::invalid_argument("watchdog timeout must be > 0");
  if (state_ == State::Fired) return;
  state_ = State::Armed;
  deadline_ = now + timeout;
  timeout_ = timeout;
  what_ = std::move(what);
}

void WatchdogPolicy::disarm() {
  if (state_ == State::Armed) state_ = State::Disarmed;
}

WatchdogPolicy::Decision WatchdogPolicy::poll(TimePoint now, const ErrorSource& errors) {
  if (state_ != State::Armed) return {};
  if (errors) {
    if (std::optional<std::string> e = errors()) {
      state_ = State::Fired;
      return {Cause::AsyncError, "NCCL asynchronous error during " + what_ + ": " + *e};
    }
  }
  if (now >= deadline_) {
    state_ = State::Fired;
    return {Cause::Timeout, "NCCL " + what_ + " timed out after " + format_timeout(timeout_)};
  }
  return {};
}

}  // namespace tpbench
