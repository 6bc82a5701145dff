// WatchdogPolicy: the NCCL watchdog's decisions, with a fake clock (explicit time points) and
// a fake asynchronous-error source. The thread and NCCL parts run in device checks only.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include "collectives/watchdog_policy.hpp"

namespace tpbench {
namespace {

using namespace std::chrono_literals;
using State = WatchdogPolicy::State;
using Cause = WatchdogPolicy::Cause;

// A fake error source: counts its calls, reports `error` when set.
struct FakeErrors {
  std::optional<std::string> error;
  int calls = 0;
  WatchdogPolicy::ErrorSource source() {
    return [this] {
      ++calls;
      return error;
    };
  }
};

const WatchdogPolicy::TimePoint t0{std::chrono::seconds(1000)};  // fake clock origin

TEST(WatchdogPolicy, DisarmedNeverFiresAndDoesNotPoll) {
  WatchdogPolicy p;
  FakeErrors errs;
  errs.error = "unhandled system error";
  EXPECT_EQ(p.state(), State::Disarmed);
  EXPECT_FALSE(p.poll(t0 + 1h, errs.source()).fire());
  EXPECT_EQ(errs.calls, 0);  // idle: nothing is queried
}

TEST(WatchdogPolicy, ArmedBeforeDeadlineStaysQuiet) {
  WatchdogPolicy p;
  FakeErrors errs;
  p.arm(t0, 60s, "all_reduce of 1048576 B");
  EXPECT_EQ(p.state(), State::Armed);
  EXPECT_EQ(p.deadline(), t0 + 60s);
  for (auto t = t0; t < t0 + 60s; t += 50ms) ASSERT_FALSE(p.poll(t, errs.source()).fire());
  EXPECT_GT(errs.calls, 1000);  // every poll while armed asks for async errors
  EXPECT_EQ(p.state(), State::Armed);
}

TEST(WatchdogPolicy, FiresAtTheDeadlineNamingStepAndTimeout) {
  WatchdogPolicy p;
  FakeErrors errs;
  p.arm(t0, 60s, "all_reduce of 1048576 B");
  const auto d = p.poll(t0 + 60s, errs.source());
  ASSERT_TRUE(d.fire());
  EXPECT_EQ(d.cause, Cause::Timeout);
  EXPECT_EQ(d.message, "NCCL all_reduce of 1048576 B timed out after 60 s");
  EXPECT_EQ(p.state(), State::Fired);
}

TEST(WatchdogPolicy, AsyncErrorFiresBeforeTheDeadline) {
  WatchdogPolicy p;
  FakeErrors errs;
  p.arm(t0, 60s, "decode step");
  EXPECT_FALSE(p.poll(t0 + 1s, errs.source()).fire());
  errs.error = "rank 1 (GPU 1): remote process exited or there was a network error";
  const auto d = p.poll(t0 + 2s, errs.source());
  ASSERT_TRUE(d.fire());
  EXPECT_EQ(d.cause, Cause::AsyncError);
  EXPECT_EQ(d.message, "NCCL asynchronous error during decode step: rank 1 (GPU 1): remote process exited or "
                       "there was a network error");
}

TEST(WatchdogPolicy, AsyncErrorWinsOverDeadlineAtTheSamePoll) {
  WatchdogPolicy p;
  FakeErrors errs;
  errs.error = "unhandled cuda error";
  p.arm(t0, 1s, "step");
  EXPECT_EQ(p.poll(t0 + 5s, errs.source()).cause, Cause::AsyncError);
}

TEST(WatchdogPolicy, FiresOnceThenStaysFired) {
  WatchdogPolicy p;
  FakeErrors errs;
  p.arm(t0, 1s, "step");
  ASSERT_TRUE(p.poll(t0 + 2s, errs.source()).fire());
  const int calls = errs.calls;
  EXPECT_FALSE(p.poll(t0 + 3s, errs.source()).fire());
  p.disarm();  // too late: the owner is already acting
  p.arm(t0 + 4s, 10s, "next step");
  EXPECT_EQ(p.state(), State::Fired);
  EXPECT_FALSE(p.poll(t0 + 30s, errs.source()).fire());
  EXPECT_EQ(errs.calls, calls);
}

TEST(WatchdogPolicy, DisarmBeforeDeadlineCancelsIt) {
  WatchdogPolicy p;
  FakeErrors errs;
  p.arm(t0, 1s, "step");
  p.disarm();
  EXPECT_EQ(p.state(), State::Disarmed);
  EXPECT_FALSE(p.poll(t0 + 1h, errs.source()).fire());
  p.disarm();  // idempotent
  EXPECT_EQ(p.state(), State::Disarmed);
}

TEST(WatchdogPolicy, RearmingStartsANewDeadline) {
  WatchdogPolicy p;
  FakeErrors errs;
  p.arm(t0, 10s, "size 1");
  p.arm(t0 + 8s, 10s, "size 2");  // next step armed without a disarm in between
  EXPECT_FALSE(p.poll(t0 + 12s, errs.source()).fire());
  const auto d = p.poll(t0 + 18s, errs.source());
  ASSERT_TRUE(d.fire());
  EXPECT_EQ(d.message, "NCCL size 2 timed out after 10 s");
}

TEST(WatchdogPolicy, EmptyErrorSourceMeansDeadlineOnly) {
  WatchdogPolicy p;
  p.arm(t0, 2s, "step");
  EXPECT_FALSE(p.poll(t0 + 1s, {}).fire());
  EXPECT_EQ(p.poll(t0 + 2s, {}).cause, Cause::Timeout);
}

TEST(WatchdogPolicy, RejectsNonPositiveTimeouts) {
  WatchdogPolicy p;
  EXPECT_THROW(p.arm(t0, 0ms, "step"), std::invalid_argument);
  EXPECT_THROW(p.arm(t0, -5ms, "step"), std::invalid_argument);
  EXPECT_EQ(p.state(), State::Disarmed);
}

TEST(WatchdogPolicy, FormatsTimeouts) {
  EXPECT_EQ(format_timeout(250ms), "250 ms");
  EXPECT_EQ(format_timeout(60s), "60 s");
  EXPECT_EQ(format_timeout(1500ms), "1.5 s");
}

}  // namespace
}  // namespace tpbench
