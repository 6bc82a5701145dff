// `tpbench explain`'s FP8-KV section: which PD points above the BF16 speed of light an FP8 KV
// cache would explain, and why not the others.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "harness/explain/explain_report.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/sim/grid.hpp"
#include "harness/sim/layout.hpp"

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

ExplainInputs inputs(std::vector<Observation> pts, DType kv) {
  ExplainInputs in;
  in.profile = builtin_profile("h100-sxm");
  in.model = preset_model("llama-3.1-70b");
  in.model.kv_dtype = kv;
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

double predicted(const std::string& layout, int c, DType kv) {
  GridSpec g;
  g.layouts = {parse_layout(layout)};
  g.concurrency = {c};
  ModelSpec m = preset_model("llama-3.1-70b");
  m.kv_dtype = kv;
  return simulate_grid(g, m, builtin_profile("h100-sxm"), PerfParams{}).front().tokens_per_s_per_gpu;
}

TEST(ExplainPdFp8Kv, ExplainsADecodeCapacityPointNotAPrefillOne) {
  // 3P-TP4 1D-TP4 at C=256 is set by its one TP4 decode instance, whose KV cache holds ~46
  // sequences of 11,000 BF16 tokens: FP8 halves a token's KV, about twice the sequences fit.
  const double bf16 = predicted("3P-TP4 1D-TP4", 256, DType::BF16);
  const double fp8 = predicted("3P-TP4 1D-TP4", 256, DType::FP8E4M3);
  ASSERT_GT(fp8, 1.3 * bf16);
  const double between = std::sqrt(bf16 * fp8);  // above BF16's bound by > 5 %, within FP8's
  // 1P-TP4 3D-TP4 at 150 tok/s/GPU needs its prefill GPUs above 85 % of peak (explain_test.cpp):
  // no KV type changes that.
  const ExplainInputs in =
      inputs({obs("3P-TP4 1D-TP4", 256, 16, between), obs("1P-TP4 3D-TP4", 256, 16, 150.0)}, DType::BF16);
  const std::string md = section(explain_markdown(in), "## PD points above the speed of light, with an FP8 KV cache");
  ASSERT_FALSE(md.empty());
  const auto row = [&](const std::string& head) {
    const auto a = md.find(head);
    return a == std::string::npos ? std::string() : md.substr(a, md.find('\n', a) - a);
  };
  EXPECT_NE(row("| 3P-TP4 1D-TP4 | 256 |").find("| explained |"), std::string::npos) << md;
  EXPECT_NE(row("| 1P-TP4 3D-TP4 | 256 |").find("not: the prefill pool would need"), std::string::npos) << md;
  EXPECT_NE(md.find("would explain 1 of 2 PD points"), std::string::npos) << md;
  EXPECT_NE(md.find("it would not explain 1P-TP4 3D-TP4 C=256"), std::string::npos) << md;
  // A model already on an FP8 KV cache has nothing to re-run.
  const ExplainInputs fp8_in = inputs({obs("3P-TP4 1D-TP4", 256, 16, between)}, DType::FP8E4M3);
  EXPECT_TRUE(section(explain_markdown(fp8_in), "## PD points above the speed of light, with an FP8").empty());
}

}  // namespace
}  // namespace tpbench
