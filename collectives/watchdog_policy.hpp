#pragma once
// WatchdogPolicy: the decisions of the collective watchdog (collectives/watchdog.hpp),
// without threads, clocks or NCCL, so that they are unit-tested on any machine.
//
// A step (a timed loop of collectives, one decode step, ...) is *armed* with a timeout before
// it starts and *disarmed* when it has finished. The watchdog thread calls poll() every ~50 ms
// with the current time and a source of asynchronous errors. poll() answers what to do:
//   - disarmed: nothing; the error source is not even consulted (no step is running, so the
//     next NCCL call reports any error itself, and idle polling costs nothing);
//   - armed, the source reports an error: fire, naming the error;
//   - armed, past the deadline: fire, naming the step and the timeout;
//   - once fired, the policy stays fired and later polls answer nothing: the owner acts once
//     (abort the communicators, print one line, exit).
// An async error wins over a deadline seen at the same poll: it is the more specific cause.
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace tpbench {

class WatchdogPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  // Returns the text of the first asynchronous error among the watched communicators, or
  // nullopt when there is none.
  using ErrorSource = std::function<std::optional<std::string>()>;

  enum class State { Disarmed, Armed, Fired };
  enum class Cause { None, Timeout, AsyncError };

  struct Decision {
    Cause cause = Cause::None;
    std::string message;  // one line without the "tpbench: error: " prefix; empty for None
    bool fire() const { return cause != Cause::None; }
  };

  // Arms the policy for a step named `what` (e.g. "all_reduce of 1048576 B") that must finish
  // by now + timeout. Re-arming an armed policy starts a new deadline. timeout must be > 0
  // (std::invalid_argument). No effect once fired.
  void arm(TimePoint now, std::chrono::milliseconds timeout, std::string what);
  // The step finished in time. No effect when disarmed or fired.
  void disarm();

  Decision poll(TimePoint now, const ErrorSource& errors);

  State state() const { return state_; }
  TimePoint deadline() const { return deadline_; }

 private:
  State state_ = State::Disarmed;
  TimePoint deadline_{};
  std::chrono::milliseconds timeout_{0};
  std::string what_;
};

// "12 s", "1.5 s", "250 ms": how timeouts read in messages.
std::string format_timeout(std::chrono::milliseconds t);

}  // namespace tpbench
