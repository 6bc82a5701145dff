#pragma once
// CollectiveWatchdog: turns a collective hang or an asynchronous failure into a clean,
// explained exit.
//
// A collective whose peer died, or a network failure, can leave a rank waiting forever in
// cudaStreamSynchronize: nothing returns an error. The watchdog thread therefore polls, every
// poll interval (~50 ms) while a step is armed, async_error() on every watched communicator
// and the step's deadline (the decisions are WatchdogPolicy's). When it fires it runs the fire
// handler; the default one aborts every communicator (all at once, waiting at most
// kAbortGrace), prints one line
//   tpbench: error: NCCL all_reduce of 1048576 B timed out after 60 s; communicators aborted
// to stderr, flushes, and ends the process with std::_Exit(kWatchdogExitCode): destructors are
// skipped on purpose, since they would wait on the very GPU work that hung.
//
// Locks: the watchdog never holds its own lock while it calls into a communicator, so arm()
// and disarm() never wait for a communicator (an abort in progress can hold one for seconds).
//
// Attribution: a rank thread that fails tells the watchdog (note_rank_failure) before its
// peers are aborted; a later firing names that rank's error, not whatever the watchdog thread
// can see (NCCL's last-error text is per thread).
//
// Usage (one watchdog per process, over the communicators of all its GPU threads):
//   CollectiveWatchdog dog({comm0.get(), comm1.get()});
//   { CollectiveWatchdog::Step step(dog, std::chrono::seconds(60), "all_reduce of 1 MiB");
//     ... enqueue, synchronize ... }   // disarmed here
// The communicators are not owned and must outlive the watchdog. Header usable from C++17.
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collectives/communicator.hpp"
#include "collectives/watchdog_policy.hpp"

namespace tpbench {

constexpr int kWatchdogExitCode = 3;
constexpr std::chrono::seconds kAbortGrace{10};

class CollectiveWatchdog {
 public:
  // Called once, on the watchdog thread, with the one-line message.
  using FireHandler = std::function<void(const std::string& message)>;

  // Starts the watchdog thread. An empty handler means abort_and_exit(comms, message).
  explicit CollectiveWatchdog(std::vector<Communicator*> comms,
                              std::chrono::milliseconds poll_interval = std::chrono::milliseconds(50),
                              FireHandler on_fire = {});
  // Stops and joins the thread (within one poll interval once no communicator call is running).
  ~CollectiveWatchdog();
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  // The step named `what` must finish within `timeout` (> 0) from now. Thread-safe, never waits
  // for a communicator.
  void arm(std::chrono::milliseconds timeout, std::string what);
  // The step finished. Thread-safe, never waits for a communicator.
  void disarm();
  bool fired() const;
  // A rank thread failed with `message` (the first call is kept): a later firing names it.
  void note_rank_failure(int rank, const std::string& message);

  // Arms on construction, disarms on destruction (also when the step throws).
  class Step {
   public:
    Step(CollectiveWatchdog& dog, std::chrono::milliseconds timeout, std::string what) : dog_(dog) {
      dog_.arm(timeout, std::move(what));
    }
    ~Step() { dog_.disarm(); }
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;

   private:
    CollectiveWatchdog& dog_;
  };

 private:
  void loop();
  std::optional<std::string> first_async_error() const;

  std::vector<Communicator*> comms_;
  std::chrono::milliseconds poll_interval_;
  FireHandler on_fire_;
  mutable std::mutex mu_;  // guards policy_, stop_ and first_failure_; never held across a comm call
  std::condition_variable wake_;
  WatchdogPolicy policy_;
  std::optional<std::string> first_failure_;
  bool stop_ = false;
  std::thread thread_;  // last: started once everything above is initialised
};

// The fire message: the policy's, plus the first rank failure when one was noted.
std::string watchdog_message(const std::string& policy_message, const std::optional<std::string>& first_failure);

// what() of the exception `e` holds ("unknown exception" for other types).
std::string exception_message(std::exception_ptr e);

// Aborts every communicator of `comms` (nullptr entries skipped) concurrently, one thread
// each — an intra-node abort may wait for its peers to abort too — and waits at most `grace`.
// Returns whether all aborts finished in time; an abort still running is left to finish on its
// own (its thread is detached), so a stuck library cannot keep the caller from exiting.
bool abort_all(const std::vector<Communicator*>& comms, std::chrono::milliseconds grace);

// Runs `f` on a thread of its own and waits at most `grace` for it; returns whether it finished.
// One still running is left to finish on its own (detached): for clean-up on the way to an exit
// that a hung driver call must not hold up.
bool run_within(std::function<void()> f, std::chrono::milliseconds grace);

// abort_all(comms, kAbortGrace), then prints "tpbench: error: <message>; communicators
// aborted" (flushed) and ends the process with std::_Exit(kWatchdogExitCode).
[[noreturn]] void abort_and_exit(const std::vector<Communicator*>& comms, const std::string& message);

}  // namespace tpbench
