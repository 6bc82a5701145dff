// The kinds that JSON and the command line spell as text: every value's name parses back to it,
// names are distinct, and an unknown name is refused naming it and what it was meant to be.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "harness/backend/backend.hpp"
#include "harness/backend/cpu_backend.hpp"
#include "harness/common/error.hpp"
#include "harness/observations/observations.hpp"
#include "harness/perf/step_time_origin.hpp"
#include "harness/sim/per_user_metric.hpp"
#include "harness/sweep/point.hpp"

using namespace tpbench;

namespace {

template <class E, std::size_t N>
void expect_round_trip(const std::array<E, N>& all, const char* (*name)(E), E (*parse)(const std::string&)) {
  std::set<std::string> names;
  for (const E e : all) {
    EXPECT_TRUE(names.insert(name(e)).second) << "duplicate name " << name(e);
    EXPECT_NE(std::string(name(e)), "?");
    EXPECT_EQ(parse(name(e)), e) << name(e);
  }
}

// The message names the refused text and the kind it should have been.
template <class E>
void expect_refused(E (*parse)(const std::string&), const std::string& text, const std::string& what) {
  try {
    parse(text);
    ADD_FAILURE() << "'" << text << "' was accepted as a " << what;
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'" + text + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }
}

}  // namespace

TEST(EnumNames, PointStatusRoundTripsAndRefusesUnknown) {
  expect_round_trip(kAllPointStatuses, point_status_name, parse_point_status);
  EXPECT_STREQ(point_status_name(PointStatus::NotRunnable), "not_runnable");  // the schema's spelling
  expect_refused(parse_point_status, "skipped", "point status");
  expect_refused(parse_point_status, "OK", "point status");  // names are case-sensitive, as in JSON
}

TEST(EnumNames, BackendKindRoundTripsAndRefusesUnknown) {
  expect_round_trip(kAllBackendKinds, backend_kind_name, parse_backend_kind);
  expect_refused(parse_backend_kind, "tpu", "backend");
  expect_refused(parse_backend_kind, "", "backend");
  try {
    parse_backend_kind("gpu");
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "unknown backend 'gpu' (expected auto, cpu or cuda)");
  }
}

TEST(EnumNames, ObservationKindRoundTripsAndRefusesUnknown) {
  expect_round_trip(kAllObservationKinds, observation_kind_name, parse_observation_kind);
  expect_refused(parse_observation_kind, "csv", "points file kind");
}

TEST(EnumNames, PerUserMetricRoundTripsAndRefusesUnknown) {
  expect_round_trip(kAllPerUserMetrics, per_user_name, parse_per_user_metric);
  expect_refused(parse_per_user_metric, "1/tpot", "per-user definition");
}

TEST(EnumNames, StepTimeOriginRoundTripsAndRefusesUnknown) {
  expect_round_trip(kAllStepTimeOrigins, step_time_origin_name, parse_step_time_origin);
  expect_refused(parse_step_time_origin, "profile", "step time source");
}

// Each backend states its own --verify tolerance: the cpu backend's FP32 one (summation order
// only, 1e-5) for a BF16 model, its FP8 one (2e-2, an E4M3 rounding flip) when weights or the KV
// cache are FP8, whichever of the two is.
TEST(VerifyTolerance, CpuBackendChoosesByTheModelsStorage) {
  const auto cpu = make_cpu_backend({});
  ModelSpec m = preset_model("tiny");
  EXPECT_DOUBLE_EQ(cpu->verify_tolerance(m), 1e-5);
  m.kv_dtype = DType::FP8E4M3;
  EXPECT_DOUBLE_EQ(cpu->verify_tolerance(m), 2e-2);
  m.kv_dtype = DType::BF16;
  m.weight_dtype = DType::FP8E4M3;
  EXPECT_DOUBLE_EQ(cpu->verify_tolerance(m), 2e-2);
}
