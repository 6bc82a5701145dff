// all_to_all in the performance model: built-in tables (derived from all_gather's, at the ~370 GB/s
// effective NVLink busbw an NCCL maintainer gives for non-all-reduce operations), profile JSON,
// pricing (its own table only: no all_reduce fallback) and the op's nccl-tests bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "collectives/bandwidth.hpp"
#include "harness/commands/profile_op.hpp"
#include "harness/common/error.hpp"
#include "harness/perf/op_pricing.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/perf/system_profile.hpp"

using namespace tpbench;

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

Op all_to_all_op(int ranks, int64_t elems_per_rank) {
  Op op;
  op.kind = OpKind::Collective;
  op.collective = CollectiveKind::AllToAll;
  op.group_size = ranks;
  op.a.buffer = 0;
  op.a.rows = 1;
  op.a.cols = op.a.ld = elems_per_rank;
  op.out = op.a;
  op.out.buffer = 1;
  set_op_cost(op, 2.0);
  return op;
}

}  // namespace

static_assert(std::tuple_size_v<decltype(StepTotals::collective_message_bytes)> == kCollectiveKinds,
              "StepTotals holds one message total per collective kind");

TEST(AllToAllProfiles, EveryBuiltinHasAnAllToAllTableForEachGroupItsAllReduceHas) {
  for (const std::string& name : builtin_profile_names()) {
    const SystemProfile p = builtin_profile(name);
    const auto& curves = p.collectives.curves();
    ASSERT_TRUE(curves.count(CollectiveKind::AllToAll)) << name;
    for (const auto& [group, curve] : curves.at(CollectiveKind::AllReduce))
      EXPECT_TRUE(p.collectives.has(CollectiveKind::AllToAll, group)) << name << " group " << group;
    // Its source says plainly that it is derived, not measured.
    EXPECT_NE(p.sources.at("collectives").find("all_to_all derived, not measured"), std::string::npos) << name;
  }
}

TEST(AllToAllProfiles, H100LargeMessagesRunAtTheMaintainersNonAllReduceBusbw) {
  // NVIDIA/nccl-tests issue #212: ~370 GB/s effective NVLink busbw on H100 for every operation
  // but NVLink-SHARP all-reduce. 1 GiB on 8 GPUs: busbw = 1 GiB x 7/8 / t = 370 GB/s, so
  // t = 1073741824 x 0.875 / 370e9 = 2539.3 us.
  const SystemProfile h = builtin_profile("h100-sxm");
  const double t = h.collectives.time_s(CollectiveKind::AllToAll, 8, kGiB);
  EXPECT_NEAR(t, 1073741824.0 * 0.875 / 370e9, 1e-9);
  EXPECT_NEAR(busbw(CollectiveKind::AllToAll, size_t(kGiB), t, 8), 370e9, 1e3);
  // Never faster than its latency floor at small sizes, and more bytes never take less time.
  double last = 0;
  for (double b = 8; b <= kGiB; b *= 4) {
    const double s = h.collectives.time_s(CollectiveKind::AllToAll, 8, b);
    EXPECT_GE(s, last) << b;
    last = s;
  }
  EXPECT_GE(h.collectives.time_s(CollectiveKind::AllToAll, 8, 8), 5e-6);
}

TEST(AllToAllProfiles, JsonRoundTripKeepsTheAllToAllCurve) {
  SystemProfile p = builtin_profile("h100-sxm");
  p.collectives.set_curve(CollectiveKind::AllToAll, 4, {{4096, 20e-6}, {1048576, 90e-6}, {67108864, 400e-6}});
  const nlohmann::json j = profile_to_json(p);
  ASSERT_TRUE(j["collectives"].contains("all_to_all"));
  EXPECT_EQ(j["collectives"]["all_to_all"]["4"].size(), 3u);
  EXPECT_DOUBLE_EQ(j["collectives"]["all_to_all"]["4"][1][1].get<double>(), 90e-6);
  const SystemProfile back = profile_from_json(j, "test");
  for (double b : {4096.0, 1048576.0, 67108864.0, 3e5, 1e9})
    EXPECT_DOUBLE_EQ(back.collectives.time_s(CollectiveKind::AllToAll, 4, b),
                     p.collectives.time_s(CollectiveKind::AllToAll, 4, b)) << b;
  // Geometric midpoint of (4 KiB, 20 us) and (1 MiB, 90 us): sqrt(20 x 90) = 42.43 us at 64 KiB.
  EXPECT_NEAR(back.collectives.time_s(CollectiveKind::AllToAll, 4, 65536), 42.4264e-6, 1e-9);
  // "alltoall" is the compact spelling; a malformed curve names its key.
  nlohmann::json bad = j;
  bad["collectives"]["alltoall"] = bad["collectives"]["all_to_all"];
  bad["collectives"].erase("all_to_all");
  EXPECT_DOUBLE_EQ(profile_from_json(bad, "t").collectives.time_s(CollectiveKind::AllToAll, 4, 1048576), 90e-6);
  bad["collectives"]["alltoall"]["4"] = nlohmann::json::array({{1024, -1}});
  EXPECT_THROW(profile_from_json(bad, "t"), UsageError);
}

TEST(AllToAllPricing, OwnTablePlusOneHopLatencyPerPairwiseStep) {
  SystemProfile p = builtin_profile("h100-sxm");
  p.collectives.set_curve(CollectiveKind::AllToAll, 8, {{1024, 10e-6}, {1048576, 100e-6}});
  PerfParams par;
  par.collective_hop_latency_s = 1e-6;
  const PricingContext ctx{&p, &par, 8, 2.0};
  // 8 ranks, 65,536 bf16 per rank (8,192 per peer): nccl-tests size 131,072 B, the whole send buffer.
  const Op op = all_to_all_op(8, 65536);
  EXPECT_DOUBLE_EQ(op.message_bytes, 131072.0);
  EXPECT_DOUBLE_EQ(op.bytes_per_rank, 131072.0);
  // Table at 128 KiB between (1 KiB, 10 us) and (1 MiB, 100 us): 10 x 10^(7/10) us, plus 7 steps x 1 us.
  const double table = 10e-6 * std::pow(10.0, 0.7);
  EXPECT_NEAR(price_op(op, {}, ctx).seconds, table + 7e-6, 1e-12);
}

TEST(AllToAllPricing, AProfileWithoutAnAllToAllTableIsRefusedByName) {
  // A calibrated profile of a dense model has no all_to_all table: the all_reduce table does not
  // bound all-to-all, so pricing one is refused rather than approximated.
  SystemProfile p = builtin_profile("h100-sxm");
  CollectiveTable dense;
  for (const auto& [kind, groups] : p.collectives.curves())
    if (kind != CollectiveKind::AllToAll)
      for (const auto& [g, c] : groups) dense.set_curve(kind, g, c);
  p.collectives = dense;
  p.name = "calibrated-dense";
  const PerfParams par;
  const PricingContext ctx{&p, &par, 8, 2.0};
  try {
    price_op(all_to_all_op(8, 65536), {}, ctx);
    ADD_FAILURE() << "priced all_to_all without its table";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("calibrated-dense"), std::string::npos) << what;
    EXPECT_NE(what.find("no all_to_all table"), std::string::npos) << what;
  }
  // The tensor-parallel kinds still fall back to all_reduce's table, which bounds them.
  Op ag = all_to_all_op(8, 65536);
  ag.collective = CollectiveKind::AllGather;
  set_op_cost(ag, 2.0);
  CollectiveTable only_ar;
  for (const auto& [g, c] : p.collectives.curves().at(CollectiveKind::AllReduce)) only_ar.set_curve(CollectiveKind::AllReduce, g, c);
  p.collectives = only_ar;
  EXPECT_DOUBLE_EQ(price_op(ag, {}, ctx).seconds, p.collectives.time_s(CollectiveKind::AllReduce, 8, ag.message_bytes));
}

TEST(AllToAllPricing, ProfileOpCommandPricesAllToAll) {
  // tpbench profile op --collective all_to_all --bytes 1M --ranks 8: bf16 parts of 1 MiB / 8 / 2.
  ProfileOpOptions o;
  o.collective = "all_to_all";
  o.bytes = 1048576;
  o.ranks = 8;
  o.json = true;
  std::ostringstream out;
  ASSERT_EQ(run_profile_op(o, out), 0);
  const nlohmann::json j = nlohmann::json::parse(out.str());
  EXPECT_DOUBLE_EQ(j["message_bytes"].get<double>(), 1048576.0);
  EXPECT_DOUBLE_EQ(j["seconds"].get<double>(),
                   builtin_profile("h100-sxm").collectives.time_s(CollectiveKind::AllToAll, 8, 1048576.0));
  o.bytes = 1048576 + 2;  // not 8 equal parts of whole bf16 elements
  EXPECT_THROW(run_profile_op(o, out), UsageError);
}
