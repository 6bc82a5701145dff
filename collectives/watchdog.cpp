#include "collectives/watchdog.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace tpbench {

CollectiveWatchdog::CollectiveWatchdog(std::vector<Communicator*> comms, std::chrono::milliseconds poll_interval,
                                       FireHandler on_fire)
    : comms_(std::move(comms)), poll_interval_(poll_interval), on_fire_(std::move(on_fire)) {
  if (poll_interval_.count() <= 0) poll_interval_ = std::chrono::milliseconds(50);
  thread_ = std::thread([this] { loop(); });
}

CollectiveWatchdog::~CollectiveWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CollectiveWatchdog::arm(std::chrono::milliseconds timeout, std::string what) {
  std::lock_guard<std::mutex> lock(mu_);
  policy_.arm(WatchdogPolicy::Clock::now(), timeout, std::move(what));
}

void CollectiveWatchdog::disarm() {
  std::lock_guard<std::mutex> lock(mu_);
  policy_.disarm();
}

bool CollectiveWatchdog::fired() const {
  std::lock_guard<std::mutex> lock(mu_);
  return policy_.state() == WatchdogPolicy::State::Fired;
}

void CollectiveWatchdog::note_rank_failure(int rank, const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!first_failure_) first_failure_ = "rank " + std::to_string(rank) + " failed first: " + message;
}

std::optional<std::string> CollectiveWatchdog::first_async_error() const {
  for (const Communicator* c : comms_)
    if (c != nullptr)
      if (std::optional<std::string> e = c->async_error()) return e;
  return std::nullopt;
}

std::string watchdog_message(const std::string& policy_message, const std::optional<std::string>& first_failure) {
  return first_failure ? policy_message + " (" + *first_failure + ")" : policy_message;
}

void CollectiveWatchdog::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, poll_interval_, [this] { return stop_; });
    if (stop_) return;
    if (policy_.state() != WatchdogPolicy::State::Armed) continue;  // idle: no communicator call
    // The communicators are asked without the lock: arm/disarm must never wait behind them.
    lock.unlock();
    const std::optional<std::string> error = first_async_error();
    lock.lock();
    if (stop_) return;
    // A step disarmed meanwhile is not fired on (poll answers nothing when not armed).
    const WatchdogPolicy::Decision d = policy_.poll(WatchdogPolicy::Clock::now(), [&] { return error; });
    if (!d.fire()) continue;
    const std::string message = watchdog_message(d.message, first_failure_);
    // Act without the lock: the handler may take long (aborts) and arm/disarm must not block.
    lock.unlock();
    if (on_fire_)
      on_fire_(message);
    else
      abort_and_exit(comms_, message);
    return;  // a policy fires once
  }
}

std::string exception_message(std::exception_ptr e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
  }
  return "unknown exception";
}

bool run_within(std::function<void()> f, std::chrono::milliseconds grace) {
  struct State {  // shared with the thread, which may outlive this call
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  };
  auto state = std::make_shared<State>();
  try {
    std::thread([f = std::move(f), state] {
      try {
        f();
      } catch (...) {
      }
      std::lock_guard<std::mutex> lock(state->mu);
      state->done = true;
      state->cv.notify_all();
    }).detach();
  } catch (const std::exception&) {
    return false;  // no thread to be had: skip the clean-up rather than risk blocking here
  }
  std::unique_lock<std::mutex> lock(state->mu);
  return state->cv.wait_for(lock, grace, [&] { return state->done; });
}

bool abort_all(const std::vector<Communicator*>& comms, std::chrono::milliseconds grace) {
  // Shared with the detached threads, which may outlive this call.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;
  };
  auto state = std::make_shared<State>();
  size_t started = 0;
  for (Communicator* c : comms) {
    if (c == nullptr) continue;
    try {
      std::thread([c, state] {
        c->abort();  // never throws
        std::lock_guard<std::mutex> lock(state->mu);
        ++state->done;
        state->cv.notify_all();
      }).detach();
      ++started;
    } catch (const std::exception&) {
      c->abort();  // no thread to be had: abort inline
    }
  }
  std::unique_lock<std::mutex> lock(state->mu);
  return state->cv.wait_for(lock, grace, [&] { return state->done == started; });
}

void abort_and_exit(const std::vector<Communicator*>& comms, const std::string& message) {
  const bool aborted = abort_all(comms, kAbortGrace);
  std::fprintf(stderr, "tpbench: error: %s; %s\n", message.c_str(),
               aborted ? "communicators aborted" : "aborting the communicators did not finish in time, exiting anyway");
  std::fflush(stderr);
  std::fflush(stdout);
  std::_Exit(kWatchdogExitCode);
}

}  // namespace tpbench
