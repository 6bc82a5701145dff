#pragma once
// NcclWatchdog: turns an NCCL hang or asynchronous failure into a clean, explained exit.
//
// A collective whose peer died, or a network failure, can leave a rank waiting forever in
// cudaStreamSynchronize: nothing returns an error. The watchdog thread therefore polls, every
// poll interval (~50 ms) while a step is armed, ncclCommGetAsyncError on every watched
// communicator and the step's deadline (the decisions are WatchdogPolicy's). When it fires it
// runs the fire handler; the default one aborts every communicator (ncclCommAbort, all at
// once, waiting at most kAbortGrace), prints one line
//   tpbench: error: NCCL all_reduce of 1048576 B timed out after 60 s; communicators aborted
// to stderr, flushes, and ends the process with std::_Exit(kWatchdogExitCode): destructors are
// skipped on purpose, since they would wait on the very GPU work that hung.
//
// Usage (one watchdog per process, over the communicators of all its GPU threads):
//   NcclWatchdog dog({comm0.get(), comm1.get()});
//   { NcclWatchdog::Step step(dog, std::chrono::seconds(60), "all_reduce of 1 MiB");
//     ... enqueue, synchronize ... }   // disarmed here
// The communicators are not owned and must outlive the watchdog. Header usable from C++17.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collectives/watchdog_policy.hpp"

namespace tpbench {

class NcclCommunicator;

constexpr int kWatchdogExitCode = 3;
constexpr std::chrono::seconds kAbortGrace{10};

class NcclWatchdog {
 public:
  // Called once, on the watchdog thread, with the policy's one-line message.
  using FireHandler = std::function<void(const std::string& message)>;

  // Starts the watchdog thread. An empty handler means abort_and_exit(comms, message).
  explicit NcclWatchdog(std::vector<NcclCommunicator*> comms,
                        std::chrono::milliseconds poll_interval = std::chrono::milliseconds(50),
                        FireHandler on_fire = {});
  // Stops and joins the thread (within one poll interval).
  ~NcclWatchdog();
  NcclWatchdog(const NcclWatchdog&) = delete;
  NcclWatchdog& operator=(const NcclWatchdog&) = delete;

  // The step named `what` must finish within `timeout` (> 0) from now. Thread-safe.
  void arm(std::chrono::milliseconds timeout, std::string what);
  // The step finished. Thread-safe.
  void disarm();
  bool fired() const;

  // Arms on construction, disarms on destruction (also when the step throws).
  class Step {
   public:
    Step(NcclWatchdog& dog, std::chrono::milliseconds timeout, std::string what) : dog_(dog) {
      dog_.arm(timeout, std::move(what));
    }
    ~Step() { dog_.disarm(); }
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;

   private:
    NcclWatchdog& dog_;
  };

 private:
  void loop();
  std::optional<std::string> first_async_error() const;

  std::vector<NcclCommunicator*> comms_;
  std::chrono::milliseconds poll_interval_;
  FireHandler on_fire_;
  mutable std::mutex mu_;  // guards policy_ and stop_
  std::condition_variable wake_;
  WatchdogPolicy policy_;
  bool stop_ = false;
  std::thread thread_;  // last: started once everything above is initialised
};

// abort_all(comms, kAbortGrace), then prints "tpbench: error: <message>; communicators
// aborted" (flushed) and ends the process with std::_Exit(kWatchdogExitCode).
[[noreturn]] void abort_and_exit(const std::vector<NcclCommunicator*>& comms, const std::string& message);

}  // namespace tpbench
