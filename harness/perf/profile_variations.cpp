#include "harness/perf/profile_variations.hpp"

#include <algorithm>
#include <cstdio>

namespace tpbench {
namespace {

std::string num(const char* format, double v) {
  char b[64];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

// Low and high end of one input, each a factor on base's value.
void scaled(std::vector<ProfileVariation>& out, const std::string& input, double base_value, double lo, double hi,
            const char* unit_format, double unit, const std::string& range, double SystemProfile::*field) {
  if (!(base_value > 0)) return;  // a factor on zero moves nothing
  for (double f : {lo, hi}) {
    out.push_back({input, "x" + num("%.2f", f) + " = " + num(unit_format, base_value * f / unit), range,
                   [f, field](SystemProfile& p) { p.*field *= f; }});
  }
}

}  // namespace

void tp8_at_tp4_bus_bandwidth(SystemProfile& p) {
  CollectiveTable t = p.collectives;
  for (const auto& [op, by_group] : p.collectives.curves()) {
    if (!by_group.count(8) || !by_group.count(4)) continue;
    const double f = busbw_factor(op, 8) / busbw_factor(op, 4);  // 7/6 for all three kinds
    CollectiveCurve c = by_group.at(8);
    for (auto& [bytes, s] : c) s = std::max(s, f * p.collectives.time_s(op, 4, bytes));
    t.set_curve(op, 8, c);
  }
  p.collectives = t;
}

std::vector<ProfileVariation> profile_variations(const SystemProfile& base) {
  std::vector<ProfileVariation> v;
  // Ranges the H100 profile's own sources give (default_profiles.cpp), as factors on the
  // profile's values so that they carry over to other profiles as relative spreads:
  // 650-750 TFLOP/s around 0.7 x 989.4 = 692.58; 2.9-3.1 TB/s around 0.9 x 3.35 = 3.015.
  const double h100_matmul = 0.7 * 989.4e12, h100_hbm = 0.9 * 3.35e12;
  scaled(v, "matmul_flops", base.matmul_flops, 650e12 / h100_matmul, 750e12 / h100_matmul, "%.0f TFLOP/s", 1e12,
         "-6 %/+8 %: the spread of published large BF16 GEMM rates on H100 SXM (650-750 TFLOP/s)",
         &SystemProfile::matmul_flops);
  scaled(v, "hbm_bandwidth", base.hbm_bandwidth, 2.9e12 / h100_hbm, 3.1e12 / h100_hbm, "%.2f TB/s", 1e12,
         "-4 %/+3 %: the spread of published stream/copy rates on H100 SXM (2.9-3.1 TB/s)", &SystemProfile::hbm_bandwidth);
  for (double e : {0.35, 0.75})
    v.push_back({"attention_efficiency", num("%.2f", e),
                 "FlashAttention-2 ~35 %, FlashAttention-3 ~75 % of peak (Shah et al. 2024)",
                 [e](SystemProfile& p) { p.attention_efficiency = e; }});
  v.push_back({"decode_attention_efficiency", "x0.85", "assumed: a decode-attention kernel 15 % short of the HBM read rate",
               [](SystemProfile& p) { p.decode_attention_efficiency *= 0.85; }});
  for (double f : {0.8, 1.25})
    v.push_back({"gemm_efficiency", "x" + num("%.2f", f) + " (capped at 1)",
                 "assumed: the small-m table is a tile-quantization estimate, not a measurement", [f](SystemProfile& p) {
                   // Raised values stop at 1 (or where a calibrated table already is above it).
                   auto move = [f](double e) { return f < 1 ? e * f : std::max(e, std::min(1.0, e * f)); };
                   for (auto& [m, e] : p.gemm_efficiency) e = move(e);
                   for (auto& [tp, table] : p.gemm_efficiency_by_tp)
                     for (auto& [m, e] : table) e = move(e);
                 }});
  scaled(v, "runtime_reserve_bytes", base.runtime_reserve_bytes, 1.5 / 2.5, 3.0 / 2.5, "%.2f GiB", 1024.0 * 1024 * 1024,
         "-40 %/+20 %: vLLM's memory profiler reports 1.5-3 GiB of non-KV memory per GPU for 70B-class models (2.5 "
         "in the H100 profile)",
         &SystemProfile::runtime_reserve_bytes);
  scaled(v, "per_step_overhead_s", base.per_step_overhead_s, 0.5, 2.0, "%.2f ms", 1e-3,
         "assumed: the source gives an order of magnitude", &SystemProfile::per_step_overhead_s);
  scaled(v, "per_layer_overhead_s", base.per_layer_overhead_s, 0.5, 2.0, "%.1f us", 1e-6,
         "assumed: kernel gaps inside a CUDA graph, one published figure", &SystemProfile::per_layer_overhead_s);
  for (double f : {0.8, 1.25})
    v.push_back({"collectives", "x" + num("%.2f", f) + " (every table)",
                 "assumed: the tables follow the shape of published nccl-tests curves", [f](SystemProfile& p) {
                   CollectiveTable t;
                   for (const auto& [op, by_group] : p.collectives.curves())
                     for (auto [g, c] : by_group) {
                       for (auto& [bytes, s] : c) s *= f;
                       t.set_curve(op, g, c);
                     }
                   p.collectives = t;
                 }});
  const auto& ar = base.collectives.curves();
  if (auto it = ar.find(CollectiveKind::AllReduce); it != ar.end() && it->second.count(4) && it->second.count(8))
    v.push_back({"collectives", "TP8 at TP4's bus bandwidth",
                 "NCCL without NVLS (ring): busbw about the same for 4 and 8 GPUs",
                 [](SystemProfile& p) { tp8_at_tp4_bus_bandwidth(p); }});
  return v;
}

}  // namespace tpbench
