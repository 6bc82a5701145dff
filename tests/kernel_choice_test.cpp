// The host logic around the cuda backend's kernel choices and teardown, without a GPU:
//   - decide_fastest: the fastest candidate wins, a candidate that throws is skipped (its error
//     kept) and the next decides, none left is an error naming them all;
//   - ChoiceCache: a choice is made once per key and reused, also across threads, and a make()
//     that throws stores nothing;
//   - StepExecution: a failed capture falls back to eager execution with its reason, unless the
//     step was abandoned or the device is unusable;
//   - wait_until and AbortGuard: a teardown after an abort that failed ends within its bound
//     and never runs the orderly destroy (which could wait for peers that are gone).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "collectives/abort_guard.hpp"
#include "harness/backend/choice_cache.hpp"
#include "harness/backend/kernel_choice.hpp"
#include "harness/backend/rank_threads.hpp"
#include "harness/backend/step_execution.hpp"

using namespace tpbench;
using namespace std::chrono_literals;

namespace {
enum class K { Skinny, Cublas, Third };
std::function<double()> takes(double s) { return [s] { return s; }; }
std::function<double()> fails(const char* why) { return [why]() -> double { throw std::runtime_error(why); }; }
}  // namespace

TEST(KernelChoice, FastestWinsAndTiesGoToTheFirst) {
  const auto d = decide_fastest<K>({{K::Skinny, takes(12e-6)}, {K::Cublas, takes(9e-6)}, {K::Third, takes(9e-6)}});
  EXPECT_EQ(d.kernel, K::Cublas);
  ASSERT_EQ(d.times.size(), 3u);
  EXPECT_DOUBLE_EQ(d.times[0].second, 12e-6);
  EXPECT_TRUE(d.errors.empty());
}

TEST(KernelChoice, ACandidateThatThrowsIsSkippedAndRecovered) {
  int recovered = 0;
  const auto d = decide_fastest<K>({{K::Skinny, fails("invalid configuration argument")}, {K::Cublas, takes(20e-6)}},
                                   [&] { ++recovered; });
  EXPECT_EQ(d.kernel, K::Cublas);  // slower, but the only one that ran
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].first, K::Skinny);
  EXPECT_EQ(d.errors[0].second, "invalid configuration argument");
  EXPECT_EQ(recovered, 1);
}

TEST(KernelChoice, NoCandidateLeftNamesEveryError) {
  try {
    decide_fastest<K>({{K::Skinny, fails("a")}, {K::Cublas, fails("b")}});
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "no candidate kernel could run: a; b");
  }
}

// A stream that no longer works (recover throws) ends the choice at once: the next candidate
// is not tried on a broken context.
TEST(KernelChoice, ABrokenDeviceEndsTheChoice) {
  bool second_ran = false;
  EXPECT_THROW(decide_fastest<K>({{K::Skinny, fails("illegal address")}, {K::Cublas, [&] {
                                    second_ran = true;
                                    return 1.0;
                                  }}},
                                 [] { throw std::runtime_error("cudaStreamSynchronize: illegal address"); }),
               std::runtime_error);
  EXPECT_FALSE(second_ran);
}

TEST(ChoiceCache, MadeOnceAndReused) {
  ChoiceCache<int, bool> c;
  int made = 0;
  EXPECT_TRUE(c.get_or_make(7, [&] { ++made; return true; }));
  EXPECT_TRUE(c.get_or_make(7, [&] { ++made; return false; }));  // the stored choice, not made again
  EXPECT_EQ(made, 1);
  EXPECT_FALSE(c.find(8).has_value());
  EXPECT_THROW(c.get_or_make(8, []() -> bool { throw std::runtime_error("timing failed"); }), std::runtime_error);
  EXPECT_FALSE(c.find(8).has_value());  // nothing stored for a failed make
  EXPECT_EQ(c.size(), 1u);
}

// Eight threads (ranks sharing a GPU) ask for the same key: all get one and the same value,
// the first stored, whatever each would have made.
TEST(ChoiceCache, ThreadsAgreeOnOneValue) {
  ChoiceCache<int, int> c;
  std::atomic<int> made{0};
  std::vector<int> got(8, -1);
  std::vector<std::thread> t;
  for (int i = 0; i < 8; ++i)
    t.emplace_back([&, i] { got[size_t(i)] = c.get_or_make(1, [&] { ++made; return 100 + i; }); });
  for (auto& x : t) x.join();
  EXPECT_GE(made.load(), 1);
  for (int g : got) EXPECT_EQ(g, *c.find(1));
  EXPECT_EQ(c.size(), 1u);
}

TEST(StepExecution, AFailedCaptureFallsBackToEagerWithItsReason) {
  StepExecution x;
  EXPECT_EQ(x.describe().at("graphs"), "none");
  EXPECT_TRUE(x.needs_capture(Variant::Full));
  x.captured(Variant::Full);
  EXPECT_FALSE(x.needs_capture(Variant::Full));
  EXPECT_EQ(x.describe().at("graphs"), "captured");
  EXPECT_TRUE(x.fall_back(Variant::ComputeOnly, "operation not permitted when stream is capturing", false, true));
  EXPECT_TRUE(x.eager(Variant::ComputeOnly));
  EXPECT_FALSE(x.needs_capture(Variant::ComputeOnly));
  EXPECT_FALSE(x.eager(Variant::Full));
  const nlohmann::json j = x.describe();
  EXPECT_EQ(j.at("graphs"), "partly eager");
  EXPECT_EQ(j.at("graph_capture_errors").at("compute_only"), "operation not permitted when stream is capturing");
}

TEST(StepExecution, AbandonedStepsAndBrokenDevicesAreNotFallenBackFrom) {
  StepExecution x;
  EXPECT_FALSE(x.fall_back(Variant::Full, "step abandoned: another rank failed", true, true));
  EXPECT_FALSE(x.fall_back(Variant::Full, "illegal address", false, false));
  EXPECT_TRUE(x.needs_capture(Variant::Full));
  EXPECT_EQ(x.describe().at("graphs"), "none");
  EXPECT_TRUE(x.fall_back(Variant::Full, "x", false, true));
  EXPECT_EQ(x.describe().at("graphs"), "eager");
}

TEST(Teardown, WaitUntilReturnsWhenDoneOrAtItsBound) {
  int polls = 0;
  EXPECT_TRUE(wait_until([&] { return ++polls >= 3; }, 5s));
  EXPECT_EQ(polls, 3);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(wait_until([] { return false; }, 50ms));  // a kernel that never ends
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 2s);
}

// NcclCommunicator's discipline when ncclCommAbort itself fails: the handle counts as aborted
// (its owner's next collective throws), and the destructor's orderly destroy never runs: a
// destroy after a failed abort could wait for peers that are gone.
TEST(Teardown, AFailedAbortNeverLeadsToTheBlockingDestroy) {
  AbortGuard g;
  bool abort_failed = false, destroyed = false;
  EXPECT_TRUE(g.abort([&] { abort_failed = true; }));  // the library's abort returned an error
  EXPECT_TRUE(abort_failed);
  EXPECT_TRUE(g.aborted());
  g.destroy([&] { destroyed = true; });
  EXPECT_FALSE(destroyed);
  EXPECT_FALSE(g.abort([] {}));  // a second abort does not touch the handle again
}
