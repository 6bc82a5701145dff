#include "collectives/cuda/nccl_watchdog.hpp"

#include <cstdio>
#include <cstdlib>

#include "collectives/cuda/nccl_communicator.hpp"

namespace tpbench {

NcclWatchdog::NcclWatchdog(std::vector<NcclCommunicator*> comms, std::chrono::milliseconds poll_interval,
                           FireHandler on_fire)
    : comms_(std::move(comms)), poll_interval_(poll_interval), on_fire_(std::move(on_fire)) {
  if (poll_interval_.count() <= 0) poll_interval_ = std::chrono::milliseconds(50);
  thread_ = std::thread([this] { loop(); });
}

NcclWatchdog::~NcclWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NcclWatchdog::arm(std::chrono::milliseconds timeout, std::string what) {
  std::lock_guard<std::mutex> lock(mu_);
  policy_.arm(WatchdogPolicy::Clock::now(), timeout, std::move(what));
}

void NcclWatchdog::disarm() {
  std::lock_guard<std::mutex> lock(mu_);
  policy_.disarm();
}

bool NcclWatchdog::fired() const {
  std::lock_guard<std::mutex> lock(mu_);
  return policy_.state() == WatchdogPolicy::State::Fired;
}

std::optional<std::string> NcclWatchdog::first_async_error() const {
  for (const NcclCommunicator* c : comms_)
    if (c != nullptr)
      if (std::optional<std::string> e = c->async_error()) return e;
  return std::nullopt;
}

void NcclWatchdog::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, poll_interval_, [this] { return stop_; });
    if (stop_) return;
    const WatchdogPolicy::Decision d =
        policy_.poll(WatchdogPolicy::Clock::now(), [this] { return first_async_error(); });
    if (!d.fire()) continue;
    // Act without the lock: the handler may take long (aborts) and arm/disarm must not block.
    lock.unlock();
    if (on_fire_)
      on_fire_(d.message);
    else
      abort_and_exit(comms_, d.message);
    return;  // a policy fires once
  }
}

void abort_and_exit(const std::vector<NcclCommunicator*>& comms, const std::string& message) {
  const bool aborted = abort_all(comms, kAbortGrace);
  std::fprintf(stderr, "tpbench: error: %s; %s\n", message.c_str(),
               aborted ? "communicators aborted" : "aborting the communicators did not finish in time, exiting anyway");
  std::fflush(stderr);
  std::fflush(stdout);
  std::_Exit(kWatchdogExitCode);
}

}  // namespace tpbench
