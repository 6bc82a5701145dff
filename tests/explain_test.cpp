// `tpbench explain` sections checked against hand-derived numbers: the matrix throughput a PD
// prefill pool would need for a reference point above the speed of light, the C=1 TPOT read
// back from a reference throughput, the toy-model fits and KV caps of a hand-built reference; and
// its prose and counts against its own tables.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness/common/error.hpp"
#include "harness/explain/explain_report.hpp"
#include "harness/model/model_spec.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/sim/grid.hpp"

namespace tpbench {
namespace {

Observation obs(const std::string& cfg, int c, int gpus, double tps_gpu) {
  Observation o;
  o.config = cfg;
  o.concurrency = c;
  o.num_gpus = gpus;
  o.tokens_per_s_per_gpu = tps_gpu;
  o.per_user_out_div_conc = tps_gpu * gpus / c;
  return o;
}

ExplainInputs inputs(std::vector<Observation> pts) {
  ExplainInputs in;
  in.profile = builtin_profile("h100-sxm");
  in.model = preset_model("llama-3.1-70b");
  in.reference.origin = "fixture";
  in.reference.kind = ObservationKind::ReferenceCsv;
  in.reference.per_user_def = PerUserMetric::OutDivConc;
  in.reference.points = std::move(pts);
  return in;
}

std::string section(const std::string& md, const std::string& title) {
  const auto a = md.find(title);
  if (a == std::string::npos) return "";
  const auto b = md.find("\n## ", a + 1);
  return md.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

TEST(ExplainAboveSpeedOfLight, PrefillPoolNeedHandDerived) {
  // 150 tok/s/GPU on 16 GPUs = 2400 tok/s = 2.4 requests/s of OSL 1000, all prefilled by one TP4
  // instance. Prefill FLOPs per GPU for a 10,000-token prompt of Llama-3.1-70B at TP4:
  //  linear: 2 x 80 layers x 855,638,016 / 4 weights x 10,000 tokens = 3.422552064e14
  //  attention: 4 x 80 x (64 / 4) heads x 128 x (10,000 x 10,001 / 2) pairs = 3.27712768e13
  //  LM head for the one sampled row: 2 x 128,256 x 8192 / 4 = 525,336,576
  const double flops = 3.422552064e14 + 3.27712768e13 + 525336576.0;
  const ExplainInputs in = inputs({obs("1P-TP4 3D-TP4", 256, 16, 150.0), obs("1P-TP4 3D-TP4", 1, 16, 0.5)});
  const double mfu = 2.4 * flops / in.profile.peak_matmul_flops;
  char want[32];
  std::snprintf(want, sizeof want, "| %.0f %% |", 100 * mfu);
  ASSERT_GT(mfu, 0.85);  // the fixture is meant to be impossible
  const std::string md = section(explain_markdown(in), "## Reference points above the speed of light");
  ASSERT_FALSE(md.empty());
  EXPECT_NE(md.find("| 1P-TP4 3D-TP4 | 256 | 150.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find(want), std::string::npos) << "want " << want << " in\n" << md;
  EXPECT_NE(md.find("prefill pool cannot keep up"), std::string::npos) << md;
  // The slow C=1 point is below the bound and must not be listed.
  EXPECT_EQ(md.find("| 1P-TP4 3D-TP4 | 1 |"), std::string::npos) << md;
}

TEST(ExplainPdLittlesLaw, EveryPdPointWithATpotIsChecked) {
  // 150 tok/s/GPU on 16 GPUs = 2.4 requests/s; with a 60 ms TPOT each request decodes for
  // 999 x 0.06 = 59.94 s, so 2.4 x 59.94 = 143.9 requests decode at once: far more than one TP4
  // instance's KV cache holds (about 49 sequences of 10,500 tokens).
  // 10 tok/s/GPU on 16 GPUs = 0.16 requests/s, far below the speed of light; with a 1 s TPOT
  // 0.16 x 999 = 159.8 decode at once, more than one TP8 instance holds (about 139): checked too.
  ExplainInputs in = inputs({obs("3P-TP4 1D-TP4", 256, 16, 150.0), obs("3P-TP4 1D-TP4", 128, 16, 150.0),
                             obs("1P-TP8 1D-TP8", 64, 16, 10.0), obs("1R-TP4", 64, 4, 100.0)});
  in.latency[{"3P-TP4 1D-TP4", 256}] = {0.060, 40.0};
  in.latency[{"3P-TP4 1D-TP4", 128}] = {NAN, 20.0};  // a TTFT without a TPOT: no Little's-law row
  in.latency[{"1P-TP8 1D-TP8", 64}] = {1.0, 40.0};
  in.latency[{"1R-TP4", 64}] = {0.05, 10.0};  // aggregated: not a PD check
  const std::string md = section(explain_markdown(in), "## PD points against Little's law");
  ASSERT_FALSE(md.empty());
  EXPECT_NE(md.find("| 3P-TP4 1D-TP4 | 256 | 60.0 | "), std::string::npos) << md;
  EXPECT_NE(md.find(" | 2.40 | 144 | "), std::string::npos) << md;
  EXPECT_NE(md.find("| 1P-TP8 1D-TP8 | 64 | 1000.0 | "), std::string::npos) << md;
  EXPECT_NE(md.find(" | 0.16 | 160 | "), std::string::npos) << md;
  EXPECT_NE(md.find("2 of 2 PD points had more requests decoding"), std::string::npos) << md;
  EXPECT_EQ(md.find("| 3P-TP4 1D-TP4 | 128 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("| 1R-TP4 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("nan"), std::string::npos) << md;
}

// With nothing flagged the section says so and claims nothing about overfull decode pools.
TEST(ExplainPdLittlesLaw, NothingFlaggedClaimsNothing) {
  ExplainInputs in = inputs({obs("1P-TP8 1D-TP8", 8, 16, 30.0)});
  in.latency[{"1P-TP8 1D-TP8", 8}] = {0.0149, 0.5};
  const std::string md = section(explain_markdown(in), "## PD points against Little's law");
  ASSERT_FALSE(md.empty());
  EXPECT_NE(md.find("0 of 1 PD point had more requests"), std::string::npos) << md;
  EXPECT_EQ(md.find("other instances"), std::string::npos) << md;
}

TEST(ExplainAboveSpeedOfLight, LatencyCsvIsValidated) {
  const std::string dir = ::testing::TempDir();
  const std::string good = dir + "/lat_good.csv", bad = dir + "/lat_bad.csv", cols = dir + "/lat_cols.csv";
  std::ofstream(good) << "config,concurrency,mean_tpot_ms,mean_ttft_ms\n\"3P-TP4 1D-TP4\",64,32.0,3316\n1R-TP4,8,,\n"
                          "TP8,32,56.0,\n";
  std::ofstream(bad) << "config,concurrency,mean_tpot_ms,mean_ttft_ms\n1R-TP4,8,fast,100\n";
  std::ofstream(cols) << "config,concurrency,tpot\n1R-TP4,8,20\n";
  const auto lat = read_latency_csv(good);
  ASSERT_EQ(lat.size(), 2u);  // the row without latencies is skipped
  EXPECT_DOUBLE_EQ(lat.at({"3P-TP4 1D-TP4", 64}).first, 0.032);
  EXPECT_DOUBLE_EQ(lat.at({"3P-TP4 1D-TP4", 64}).second, 3.316);
  // A TPOT without a TTFT is kept (the TTFT is NaN), under the canonical configuration name.
  EXPECT_DOUBLE_EQ(lat.at({"1R-TP8", 32}).first, 0.056);
  EXPECT_TRUE(std::isnan(lat.at({"1R-TP8", 32}).second));
  EXPECT_THROW(read_latency_csv(bad), UsageError);
  EXPECT_THROW(read_latency_csv(cols), UsageError);
  EXPECT_THROW(read_latency_csv(dir + "/no_such.csv"), UsageError);
}

TEST(ExplainAboveSpeedOfLight, NoneWhenEveryPointIsSlower) {
  const ExplainInputs in = inputs({obs("1R-TP4", 1, 4, 1.0), obs("1R-TP4", 8, 4, 5.0)});
  const std::string md = section(explain_markdown(in), "## Reference points above the speed of light");
  EXPECT_NE(md.find("None:"), std::string::npos) << md;
}

TEST(ExplainTpOrdering, C1TpotReadBackFromThroughput) {
  // One user, back-to-back requests: E2E = OSL / output tok/s; 5 tok/s/GPU x 8 GPUs = 40 tok/s
  // -> E2E = 1000 / 40 = 25.00 s.
  const ExplainInputs in = inputs({obs("1R-TP2", 1, 2, 16.0), obs("1R-TP4", 1, 4, 12.0), obs("1R-TP8", 1, 8, 5.0)});
  const std::string md = explain_markdown(in);
  EXPECT_NE(md.find("| 1R-TP8 | 25.00 |"), std::string::npos) << md;
  // 1000 / (12 x 4) = 20.83 s and 1000 / (16 x 2) = 31.25 s.
  EXPECT_NE(md.find("| 1R-TP4 | 20.83 |"), std::string::npos);
  EXPECT_NE(md.find("| 1R-TP2 | 31.25 |"), std::string::npos);
}

// The stack-cost section on a reference made by the simulator itself with a known stack: TP8
// steps 4 ms + 1.3 x the speed of light, TP4 2 ms + 1.1 x. llm-d's TPOTs are built from the
// speed-of-light TPOTs by that rule, so the fit must find exactly a and k (rms 0), and the
// reference's throughput is the simulation with that stack, so re-simulating with the fitted
// stack must reproduce it (MAPE 0.0 %) while the speed of light does not.
TEST(ExplainStackCost, RecoversAKnownStackAndItsThroughput) {
  GridSpec g;
  g.layouts = {parse_layout("1R-TP4"), parse_layout("1R-TP8"), parse_layout("2R-TP8")};
  g.concurrency = {1, 8, 32, 64};
  const ModelSpec m = preset_model("llama-3.1-70b");
  const SystemProfile prof = builtin_profile("h100-sxm");
  PerfParams stack;
  stack.step_overhead_by_tp_s = {{4, 0.002}, {8, 0.004}};
  stack.step_time_scale_by_tp = {{4, 1.1}, {8, 1.3}};
  const auto sol = simulate_grid(g, m, prof, PerfParams{}), slow = simulate_grid(g, m, prof, stack);
  std::vector<Observation> ref;
  for (const auto& p : slow) ref.push_back(obs(p.layout, p.concurrency, p.num_gpus, p.tokens_per_s_per_gpu));
  ExplainInputs in = inputs(ref);
  for (const auto& p : sol) {
    const bool tp8 = p.layout.find("TP8") != std::string::npos;
    in.latency[{p.layout, p.concurrency}] = {tp8 ? 0.004 + 1.3 * p.tpot_s : 0.002 + 1.1 * p.tpot_s, NAN};
  }
  const std::string md = explain_markdown(in);
  const auto at = md.find("**The stack's cost at every concurrency");
  ASSERT_NE(at, std::string::npos) << md;
  const std::string sec = md.substr(at, md.find("latency points, so it sizes the stack", at) - at);
  EXPECT_NE(sec.find("| 4 | 1R-TP4 | 4 | 2.0 | 1.10 | 0.0 | 0.0 |"), std::string::npos) << sec;
  EXPECT_NE(sec.find("| 8 | 1R-TP8, 2R-TP8 | 8 | 4.0 | 1.30 | 0.0 | 0.0 |"), std::string::npos) << sec;
  EXPECT_NE(sec.find("| 8 | 2 | "), std::string::npos) << sec;
  // Speed of light vs the reference is off; with the fitted stack it is exact.
  const auto row8 = sec.find("| 8 | 2 | ");
  const std::string line8 = sec.substr(row8, sec.find('\n', row8) - row8);
  EXPECT_NE(line8.find("| 0.0 % | 0.0 |"), std::string::npos) << line8;
  EXPECT_EQ(line8.find("| 0.0 % | 0.0 % |"), std::string::npos) << line8;
  EXPECT_NE(sec.find("TP8's costs 4.0 ms per step at 77 %"), std::string::npos) << sec;
}

// The report on the llm-d data under a built-in profile, made once per profile for all tests.
ExplainInputs llmd_inputs(const std::string& profile) {
  ExplainInputs in;
  in.profile = builtin_profile(profile);
  in.model = preset_model("llama-3.1-70b");
  in.reference = read_reference_csv(std::string(TPBENCH_SOURCE_DIR) + "/results/llmd/llmd_pd_sweep_exact_from_tables.csv");
  return in;
}

const std::string& llmd_report(const std::string& profile) {
  static std::map<std::string, std::string> reports;
  auto it = reports.find(profile);
  if (it == reports.end()) it = reports.emplace(profile, explain_markdown(llmd_inputs(profile))).first;
  return it->second;
}

// The prose says what the tables show, whatever the profile: the ordering sentence agrees with
// the "matches at M of N" count printed above it (with the H200 profile the per-TP calibration
// does not reproduce llm-d's H100 ordering, with the H100 one it does).
TEST(ExplainTpOrdering, ProseFollowsTheNumbers) {
  for (const char* profile : {"h100-sxm", "h200-sxm"}) {
    const std::string& md = llmd_report(profile);
    const auto at = md.find("The order matches llm-d's at ");
    ASSERT_NE(at, std::string::npos) << profile;
    int m = -1, n = -1;
    ASSERT_EQ(std::sscanf(md.c_str() + at, "The order matches llm-d's at %d of %d", &m, &n), 2) << profile;
    const bool says_every = md.find("enough to reproduce llm-d's ordering at every concurrency", at) != std::string::npos;
    const bool says_not = md.find("does not reproduce llm-d's ordering everywhere", at) != std::string::npos;
    EXPECT_EQ(says_every, m == n) << profile;
    EXPECT_EQ(says_not, m != n) << profile;
  }
}

// The sensitivity table against its own prose, under three profiles (H100, H200, and H100 with
// 100 GB of memory, where TP4's lead is +2.9 % at C=128 but -0.2 % at C=256): the first row is
// the profile as given (recomputed here through the simulator: a consistency check of the
// table, not of the simulator); "holds under N of M profiles" counts the "yes" cells; the C=32/64
// sentence says "every profile" exactly when every row has TP4 ahead there; and the closing
// sentence says "cannot order" exactly when some row (the all-at-once one included) has another
// leader than the first row at C=128 or C=256.
TEST(ExplainOrderSensitivity, FirstRowCountAndProseFollowTheTable) {
  ExplainInputs small = llmd_inputs("h100-sxm");
  small.profile.memory_bytes = 100e9;
  const std::vector<std::pair<std::string, ExplainInputs>> cases = {
      {"h100-sxm", llmd_inputs("h100-sxm")}, {"h200-sxm", llmd_inputs("h200-sxm")}, {"h100 100 GB", small}};
  for (const auto& [name, in] : cases) {
    const std::string md = explain_markdown(in);
    const auto start = md.find("**How firm is the speed-of-light order?**");
    ASSERT_NE(start, std::string::npos) << name;
    const std::string sec = md.substr(start, md.find("\n## ", start) - start);

    GridSpec g;
    g.layouts = {parse_layout("1R-TP4"), parse_layout("1R-TP8")};
    g.concurrency = {32, 64, 128, 256};
    const auto pts = simulate_grid(g, in.model, in.profile, PerfParams{});
    ASSERT_EQ(pts.size(), 8u);
    std::string first = "| (the profile as given) | - | - |";
    for (size_t i = 0; i < 4; ++i) {
      char cell[32];
      std::snprintf(cell, sizeof cell, " %+.1f %% |", 100 * (pts[i].tokens_per_s_per_gpu / pts[4 + i].tokens_per_s_per_gpu - 1));
      first += cell;
    }
    EXPECT_NE(sec.find(first), std::string::npos) << name << "\n" << first << "\n" << sec;

    // Rows: every line starting "| " after the header separator; yes/no in the last cell.
    int yes = 0, rows = 0;
    bool flips = false, low_c_tp4 = true;
    std::vector<double> base;
    std::istringstream lines(sec.substr(sec.find("| :--- |")));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line) && line.rfind("| ", 0) == 0) {
      std::vector<std::string> cells;
      for (size_t a = 1, b; (b = line.find(" |", a)) != std::string::npos; a = b + 2) cells.push_back(line.substr(a + 1, b - a - 1));
      ASSERT_EQ(cells.size(), 8u) << line;
      std::vector<double> lead;
      for (int k = 3; k <= 6; ++k) lead.push_back(std::atof(cells[size_t(k)].c_str()));
      if (base.empty()) base = lead;
      for (size_t k = 2; k < 4; ++k) flips = flips || (lead[k] > 0) != (base[k] > 0);
      const bool corner = cells[0].find("favours TP4 most") != std::string::npos;
      if (!corner) {
        ++rows;
        yes += cells[7] == "yes";
        low_c_tp4 = low_c_tp4 && lead[0] > 0 && lead[1] > 0;
      }
    }
    EXPECT_GE(rows, 11) << name;
    char count[96];
    std::snprintf(count, sizeof count, "holds at every concurrency shown under %d of %d profiles", yes, rows);
    EXPECT_NE(sec.find(count), std::string::npos) << name << ": " << count << "\n" << sec;
    EXPECT_EQ(sec.find("TP4 leads TP8 under every profile") != std::string::npos, low_c_tp4) << name << "\n" << sec;
    EXPECT_EQ(sec.find("cannot order them more firmly") != std::string::npos, flips) << name << "\n" << sec;
    EXPECT_EQ(sec.find("whatever its inputs within their ranges") != std::string::npos, !flips) << name << "\n" << sec;
  }
}


// The toy-model section on a reference built by hand from the toy model itself: 1R-TP2 with
// tau 30 ms and alpha 1.5 requests per GPU (knee at C = 3), 1R-TP4 with tau 25 ms and alpha 2.3
// (knee at C = 9.2); per-GPU tok/s = min(C, alpha N) / (tau N). The fit must give those back
// with no failure, and the KV cap column must be the hand-derived sequences per GPU (a TP2
// instance holds 3 sequences of 11000 tokens, a TP4 one 46: 1.50 and 11.50 per GPU), so
// alpha / KV cap is 1.00 for TP2 and 0.20 for TP4, in the table and in the sentence under it.
TEST(ExplainToyModel, FitsAndKvCapOnAHandBuiltReference) {
  std::vector<Observation> pts;
  for (int c : {1, 8, 32, 64}) {
    pts.push_back(obs("1R-TP2", c, 2, std::min(c, 3) / (0.030 * 2)));
    pts.push_back(obs("1R-TP4", c, 4, std::min(c * 1.0, 9.2) / (0.025 * 4)));
  }
  const std::string md = section(explain_markdown(inputs(pts)), "## Where the toy model holds");
  ASSERT_FALSE(md.empty());
  EXPECT_NE(md.find("| 1R-TP2 | 30.0 | 1.50 | 0.00 | none | "), std::string::npos) << md;
  EXPECT_NE(md.find("| 1.50 | 1.00 |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1R-TP4 | 25.0 | 2.30 | 0.00 | none | "), std::string::npos) << md;
  EXPECT_NE(md.find("| 11.50 | 0.20 |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("TP2 1.00-1.00; TP4 0.20-0.20;"), std::string::npos) << md;
}

}  // namespace
}  // namespace tpbench

namespace tpbench {
namespace {

// The weight-gather section: the weights a GPU reads per decode step, hand-derived. tp at TP4
// reads its quarter of the GEMM weights: (80 x 213,909,504 + 8192 x 32,064) x 2 B + the norms
// (161 x 8192 x 2 B) = 34.75 GB; weight-gather reads every layer whole on every GPU: (80 x
// 855,638,016 + 8192 x 128,256) x 2 B + norms = 138.99 GB, and gathers 80 layers of 855,654,400
// elements and the 8192 x 128,256 LM head, 139,006,050,304 B, of which it receives 3/4 at TP4
// (104.25 GB) and 7/8 at TP8 (121.63 GB).
TEST(ExplainWeightGather, StepAnatomyHandDerived) {
  const std::string md = explain_weight_gather(inputs({}));
  ASSERT_NE(md.find("## Weight-gather with prefetch against Megatron TP"), std::string::npos);
  // B = 64 exceeds TP4's 46 sequences of KV room (both plans'), not TP8's 132.
  EXPECT_NE(md.find("| tp (more than its KV room) | 4 | 64 | 34.8 | 0.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| weight-gather (more than its KV room) | 4 | 16 | 139.0 | 104.3 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| weight-gather | 8 | 8 | 139.0 | 121.6 |"), std::string::npos) << md;
  for (const char* tp : {"- TP2:", "- TP4:", "- TP8:"}) EXPECT_NE(md.find(tp), std::string::npos) << tp;
  // TP2 weight-gather stores half the weights plus two gather buffers: no room for a sequence.
  EXPECT_NE(md.find("Weight-gather at TP2 has no KV room"), std::string::npos) << md;
}

// A model with fewer layers than the template's inner layer (tiny has 2) still gets a break-even
// from its second layer's gather, and the section prints nothing it did not compute (no "nan").
TEST(ExplainWeightGather, SmallModelHasNoNan) {
  ExplainInputs in = inputs({});
  in.model = preset_model("tiny");
  in.isl = 100;
  in.osl = 20;
  const std::string md = explain_weight_gather(in);
  EXPECT_EQ(md.find("nan"), std::string::npos) << md;
  EXPECT_NE(md.find("Prefetch hides"), std::string::npos) << md;
}

}  // namespace
}  // namespace tpbench
