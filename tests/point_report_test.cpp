// How a point says what its measurement stands on: the emulation caveat (JSON and table) and the
// kernels the backend chose.
#include <gtest/gtest.h>

#include <sstream>

#include "harness/sweep/point.hpp"
#include "harness/sweep/report.hpp"

using namespace tpbench;

namespace {

Point emulated_point(Overlap ov, bool optimistic) {
  Point p;
  p.config.tp = 4;
  p.config.batch = 8;
  p.config.overlap = ov;
  p.layers_run = p.layers_total = 80;
  p.emulated = true;
  p.overlap_optimistic = optimistic;
  p.step = summarize({0.02, 0.021, 0.022});
  return p;
}

}  // namespace

TEST(PointReport, EmulatedOverlapIsMarkedOptimisticInJsonAndTable) {
  const Point streams = emulated_point(Overlap::Streams, true);
  const nlohmann::json j = to_json(streams);
  EXPECT_EQ(j.at("overlap_optimistic"), true);
  std::ostringstream table;
  print_sweep_table(table, {streams});
  EXPECT_NE(table.str().find("[emulated, overlap optimistic]"), std::string::npos) << table.str();

  const Point serial = emulated_point(Overlap::None, false);
  EXPECT_EQ(to_json(serial).at("overlap_optimistic"), false);
  std::ostringstream plain;
  print_sweep_table(plain, {serial});
  EXPECT_NE(plain.str().find("[emulated]"), std::string::npos);
  EXPECT_EQ(plain.str().find("optimistic"), std::string::npos);
}

TEST(PointReport, RealPointsCarryNeitherCaveatNorEmptyKernels) {
  Point p = emulated_point(Overlap::Streams, false);
  p.emulated = false;
  const nlohmann::json j = to_json(p);
  EXPECT_FALSE(j.contains("overlap_optimistic"));
  EXPECT_FALSE(j.contains("kernels"));
  p.kernels = {{"attention", "cudnn-sdpa"}};
  EXPECT_EQ(to_json(p).at("kernels").at("attention"), "cudnn-sdpa");
}
