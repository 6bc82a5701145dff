// The table of model parameters (perf_param_defs) drives get/set, bounds, JSON and --help: every
// definition must survive a JSON round trip at a value other than its default, values outside its
// bounds and unknown names must be refused naming the parameter, and the JSON form must be the
// documents' "params" object as the prediction schema spells it.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "harness/common/error.hpp"
#include "harness/perf/perf_params.hpp"

using namespace tpbench;

namespace {

bool per_tp(const PerfParamDef& d) { return std::string(d.name).find("<n>") != std::string::npos; }

// The name a definition is set under here (a per-TP family at TP 4).
std::string instance(const PerfParamDef& d) {
  std::string n = d.name;
  if (per_tp(d)) n.replace(n.find("<n>"), 3, "4");
  return n;
}

bool is_switch(const PerfParamDef& d) { return std::holds_alternative<bool PerfParams::*>(d.member); }
bool is_whole(const PerfParamDef& d) { return std::holds_alternative<int64_t PerfParams::*>(d.member); }

// An in-range value that is not the default: 0.37 of the way through the range (whole numbers
// rounded down), 1 for a switch (default 0).
double inside(const PerfParamDef& d) {
  if (is_switch(d)) return 1.0;
  const double v = d.min + 0.37 * (d.max - d.min);
  return is_whole(d) ? std::floor(v) : v;
}

std::string refusal(const std::string& name, double v) {
  PerfParams p;
  try {
    set_param(p, name, v);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(PerfParamsTable, EveryDefinitionRoundTripsThroughJson) {
  ASSERT_GE(perf_param_defs().size(), 12u);
  for (const PerfParamDef& d : perf_param_defs()) {
    const std::string name = instance(d);
    PerfParams p;
    const double before = get_param(p, name);
    set_param(p, name, inside(d));
    ASSERT_NE(get_param(p, name), before) << name << ": the test value is the default";
    const PerfParams back = perf_params_from_json(nlohmann::json::parse(perf_params_to_json(p).dump()));
    for (const PerfParamDef& e : perf_param_defs())
      EXPECT_EQ(get_param(back, instance(e)), get_param(p, instance(e))) << name << " set, " << instance(e) << " read";
  }
}

TEST(PerfParamsTable, DefaultsRoundTripWithTheReserveUnset) {
  const PerfParams back = perf_params_from_json(perf_params_to_json(PerfParams{}));
  EXPECT_EQ(back.memory_reserve_bytes, -1);  // the profile's reserve, not a reserve of -1 bytes
  EXPECT_EQ(get_param(back, "memory_reserve_gib"), -1);
  EXPECT_TRUE(back.step_overhead_by_tp_s.empty());
  EXPECT_TRUE(back.step_time_scale_by_tp.empty());
}

// The "params" object of prediction documents, written out by hand from PerfParams' defaults:
// whole numbers and the switch as integers, the reserve in bytes, per-TP entries only when set.
TEST(PerfParamsTable, JsonIsTheDocumentsParamsObject) {
  PerfParams p;
  set_param(p, "step_overhead_tp8_s", 0.0125);
  const nlohmann::json want = {{"hbm_efficiency", 1.0},         {"compute_efficiency", 1.0},
                               {"step_overhead_s", 0.0},        {"collective_scale", 1.0},
                               {"collective_hop_latency_s", 0.0}, {"memory_reserve_bytes", -1.0},
                               {"gpu_memory_utilization", 0.95}, {"max_num_batched_tokens", 8192},
                               {"max_num_seqs", 256},           {"kv_on_demand", 0},
                               {"step_overhead_tp8_s", 0.0125}};
  EXPECT_EQ(perf_params_to_json(p).dump(), want.dump());
}

TEST(PerfParamsTable, OutOfBoundsValuesAreRefusedNamingTheParameter) {
  for (const PerfParamDef& d : perf_param_defs()) {
    const std::string name = instance(d);
    const double above = is_switch(d) ? 2.0 : d.max * 2 + 1;
    const double below = d.min_exclusive ? d.min : d.min - 1;
    for (const double v : {above, below, std::nan("")}) {
      const std::string why = refusal(name, v);
      EXPECT_NE(why.find(name), std::string::npos) << name << "=" << v << " refused as '" << why << "'";
    }
    EXPECT_EQ(refusal(name, d.max), "") << name << " at its upper bound";
    if (!d.min_exclusive) {
      EXPECT_EQ(refusal(name, d.min), "") << name << " at its lower bound";
    }
    if (is_whole(d) || is_switch(d)) {
      EXPECT_NE(refusal(name, d.min + 0.5), "") << name << " takes a fraction";
    }
  }
}

TEST(PerfParamsTable, UnknownNamesAreRefusedByName) {
  for (const char* bad : {"bogus_knob", "hbm", "step_overhead_tp0_s", "step_time_scale_tp", "memory_reserve_bytes"}) {
    EXPECT_NE(refusal(bad, 1.0).find(std::string("'") + bad + "'"), std::string::npos) << bad;
    EXPECT_THROW(get_param(PerfParams{}, bad), UsageError) << bad;
  }
  // In JSON, an unknown key, a name whose JSON key differs and a value that is not a number.
  for (const char* text : {R"({"bogus_knob": 1})", R"({"memory_reserve_gib": 2})", R"({"hbm_efficiency": "0.9"})"}) {
    try {
      perf_params_from_json(nlohmann::json::parse(text));
      ADD_FAILURE() << text << " was accepted";
    } catch (const UsageError& e) {
      const std::string key = nlohmann::json::parse(text).begin().key();
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}

TEST(PerfParamsTable, HelpListsEveryParameterAndFitOnlyTheFittable) {
  const std::string all = perf_params_help(false), fit = perf_params_help(true);
  for (const PerfParamDef& d : perf_param_defs()) {
    EXPECT_NE(all.find(d.name), std::string::npos) << d.name;
    EXPECT_EQ(fit.find(d.name) != std::string::npos, d.fittable) << d.name;
  }
}
