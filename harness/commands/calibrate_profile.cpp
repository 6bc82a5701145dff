// `tpbench calibrate`: measurements -> system profile (merge into the base, the JSON document
// with the raw measurements beside the profile fields) and the summary table.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>

#include "harness/commands/calibrate_command.hpp"
#include "harness/io/provenance.hpp"

namespace tpbench {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) out += static_cast<char>(std::tolower(u));
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "gpu" : out;
}

std::string fmt(const char* f, double a) {
  char buf[96];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

}  // namespace

CalibrateAttentionPoint attention_point(const CalibrateAttentionHeads& h, int64_t batch, int64_t context,
                                        double bytes, AttentionKernel own, double own_s,
                                        std::optional<double> library_s) {
  CalibrateAttentionPoint p;
  p.heads = h;
  p.batch = batch;
  p.context = context;
  p.bytes = bytes;
  p.own_seconds = own_s;
  p.library_seconds = library_s.value_or(0.0);
  p.kernel = faster_decode_kernel(own, own_s, library_s);
  p.seconds = p.kernel == AttentionKernel::Library ? *library_s : own_s;
  return p;
}

namespace {

// A measured kernel time less the fixed cost per kernel that the cost model adds back on its
// own (never below a tenth of the measurement).
double less_kernel_cost(double seconds, double kernel_s) { return std::max(0.1 * seconds, seconds - kernel_s); }

// Aggregate decode-attention bandwidth: all K/V bytes over all time (each call's kernel cost
// taken out), as a pass over the measured (heads, batch) points would see it. 0 without points.
double attention_bandwidth(const std::vector<CalibrateAttentionPoint>& pts, double kernel_s) {
  double bytes = 0, secs = 0;
  for (const auto& p : pts)
    if (p.seconds > 0) {
      bytes += p.bytes;
      secs += less_kernel_cost(p.seconds, kernel_s);
    }
  return secs > 0 ? bytes / secs : 0;
}

std::map<std::pair<CollectiveKind, int>, CollectiveCurve> collective_curves(const std::vector<CalibrateCollectivePoint>& pts) {
  std::map<std::pair<CollectiveKind, int>, CollectiveCurve> curves;
  for (const auto& p : pts)
    if (p.bytes > 0 && p.seconds > 0) curves[{p.op, p.group}].emplace_back(p.bytes, p.seconds);
  for (auto& [key, c] : curves) {
    // Small sizes can round to the same nccl-tests size (a count of at least one element per
    // rank): keep the first of each, since a table needs strictly increasing sizes.
    std::stable_sort(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    c.erase(std::unique(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.first == b.first; }), c.end());
  }
  return curves;
}

}  // namespace

std::vector<std::pair<double, double>> gemm_efficiency_table(const std::vector<CalibrateGemmPoint>& gemm,
                                                              double matmul_flops, double kernel_s) {
  std::map<int64_t, std::pair<double, double>> by_m;  // m -> (FLOPs, seconds)
  for (const auto& p : gemm)
    if (p.seconds > 0) {
      auto& [flops, secs] = by_m[p.m];
      const double w = std::max(1, p.shape.per_step);
      flops += w * 2.0 * double(p.m) * double(p.shape.n) * double(p.shape.k);
      secs += w * less_kernel_cost(p.seconds, kernel_s);
    }
  std::vector<std::pair<double, double>> table;
  if (!(matmul_flops > 0)) return table;
  for (const auto& [m, fs] : by_m) table.emplace_back(double(m), std::min(1.5, fs.first / fs.second / matmul_flops));
  return table;
}

std::map<int, std::vector<std::pair<double, double>>> gemm_efficiency_tables_by_tp(
    const std::vector<CalibrateGemmPoint>& gemm, double matmul_flops, double kernel_s) {
  std::map<int, std::vector<CalibrateGemmPoint>> by_tp;
  for (const auto& p : gemm) by_tp[p.shape.tp].push_back(p);
  std::map<int, std::vector<std::pair<double, double>>> tables;
  for (const auto& [tp, points] : by_tp)
    if (auto t = gemm_efficiency_table(points, matmul_flops, kernel_s); !t.empty()) tables[tp] = std::move(t);
  return tables;
}

std::vector<SystemProfile::GemmTimes> gemm_time_tables(const std::vector<CalibrateGemmPoint>& gemm) {
  std::map<std::pair<int64_t, int64_t>, std::map<int64_t, std::pair<double, int>>> by_shape;  // (n, k) -> m -> (s, count)
  for (const auto& p : gemm)
    if (p.seconds > 0 && p.m >= 1) {
      auto& [secs, count] = by_shape[{p.shape.n, p.shape.k}][p.m];
      secs += p.seconds;
      ++count;
    }
  std::vector<SystemProfile::GemmTimes> out;
  for (const auto& [nk, by_m] : by_shape) {
    SystemProfile::GemmTimes t;
    t.n = nk.first;
    t.k = nk.second;
    for (const auto& [m, sc] : by_m) t.points.emplace_back(double(m), sc.first / sc.second);
    out.push_back(std::move(t));
  }
  return out;
}

SystemProfile merge_calibration(const SystemProfile& base, const CalibrateMeasurements& m, const std::string& name) {
  SystemProfile p = base;
  const std::string from_base = "base profile '" + base.name + "'";
  p.name = name.empty() ? "calibrated-" + slug(m.gpu_name) : name;
  p.gpu = m.gpu_name;
  p.sources["profile"] = "tpbench calibrate on " + std::to_string(m.gpu_count) + " x " + m.gpu_name +
                         "; fields not measured come from the " + from_base;
  if (m.memory_bytes > 0) {
    p.memory_bytes = m.memory_bytes;
    p.sources["memory_bytes"] = "measured: cudaMemGetInfo total on the first GPU";
  }
  if (m.hbm_read_bps > 0) {
    p.hbm_bandwidth = m.hbm_read_bps;
    p.sources["hbm_bandwidth"] = "measured: streaming read of " + fmt("%.1f", m.hbm_bytes / kGiB) +
                                 " GiB (16-byte loads), median; copy " + fmt("%.3f", m.hbm_copy_bps / 1e12) +
                                 " TB/s (read + write)";
  }
  if (m.matmul_flops > 0) {
    p.matmul_flops = m.matmul_flops;
    const std::string s = std::to_string(m.square);
    p.sources["matmul_flops"] = "measured: best cuBLASLt BF16 GEMM " + s + "x" + s + "x" + s + " (FP32 accumulation)";
  }
  const auto eff = gemm_efficiency_table(m.gemm, m.matmul_flops, base.kernel_overhead_s);
  if (!eff.empty()) {
    p.gemm_efficiency = eff;
    p.gemm_efficiency_by_tp = gemm_efficiency_tables_by_tp(m.gemm, m.matmul_flops, base.kernel_overhead_s);
    const std::string how =
        "measured: tpbench GemmRunner (cuBLASLt or skinny kernel) over the per-rank GEMMs the plans emit (" +
        (m.workload.empty() ? std::string("the requested workload") : m.workload) +
        "), total FLOPs / total time per m, each GEMM's time less kernel_overhead_s (the cost model adds it "
        "back), L2 flushed before each GEMM, as a fraction of matmul_flops (the measured rate: at small m it "
        "includes what the kernels lose to the HBM roofline)";
    p.sources["gemm_efficiency"] = how + "; every TP pooled (used where no per-TP table or measured shape applies)";
    p.sources["gemm_efficiency_by_tp"] = how + "; one table per TP from that TP's shapes";
    p.gemm_times = gemm_time_tables(m.gemm);
    p.sources["gemm_times"] = "measured: median time of each per-rank GEMM shape by m, L2 flushed (" +
                              (m.workload.empty() ? std::string("the requested workload") : m.workload) +
                              "); the cost model prices a GEMM of these (n, k) from them";
  }
  if (const double bw = attention_bandwidth(m.attention, p.kernel_overhead_s); bw > 0 && p.hbm_bandwidth > 0) {
    p.decode_attention_efficiency = std::min(1.5, bw / p.hbm_bandwidth);
    p.sources["decode_attention_efficiency"] =
        "measured: " + fmt("%.3f", bw / 1e12) + " TB/s of K/V read by the faster per shape of kernels::decode_attention "
        "and cuDNN's SDPA (calibration.attention[].kernel) at context " +
        std::to_string(m.attention.front().context) + ", batch 1..64, total bytes / total time less kernel_overhead_s "
        "per call (the cost model adds it back) (calibration.attention), over hbm_bandwidth";
  }

  const auto curves = collective_curves(m.collectives);
  std::set<int> groups;
  std::set<CollectiveKind> kinds;
  for (const auto& [key, curve] : curves) {
    p.collectives.set_curve(key.first, key.second, curve);
    kinds.insert(key.first);
    groups.insert(key.second);
  }
  if (!groups.empty()) {
    std::string g, k;
    for (int n : groups) g += (g.empty() ? "" : ",") + std::to_string(n);
    for (CollectiveKind kind : kinds) k += (k.empty() ? "" : "/") + std::string(collective_name(kind));
    p.sources["collectives"] = "measured: NCCL BF16 " + k + ", groups " + g +
                               ", mean time per op after warm-up, slowest rank, nccl-tests sizes" +
                               (m.collective_note.empty() ? "" : "; " + m.collective_note) +
                               "; other groups from the " + from_base;
  } else {
    p.sources["collectives"] = "NOT measured (" + (m.collective_note.empty() ? std::string("no group measured")
                                                                            : m.collective_note) +
                               "): tables from the " + from_base;
  }
  return p;
}

nlohmann::json calibration_document(const SystemProfile& profile, const CalibrateMeasurements& m,
                                    const std::string& command_line) {
  nlohmann::json j = profile_to_json(profile);
  // Extra keys: profile_from_json reads only the fields it knows, so predict ignores these.
  if (const double bw = attention_bandwidth(m.attention, profile.kernel_overhead_s); bw > 0)
    j["decode_attention_bandwidth"] = bw;
  nlohmann::json c;
  add_provenance(c, {command_line, CreationTime::Record});
  c["gpu"] = m.gpu_name;
  c["gpu_count"] = m.gpu_count;
  c["hbm"] = {{"bytes", m.hbm_bytes}, {"read_bytes_per_s", m.hbm_read_bps}, {"copy_bytes_per_s", m.hbm_copy_bps}};
  c["matmul"] = {{"m", m.square}, {"n", m.square}, {"k", m.square}, {"flops_per_s", m.matmul_flops}};
  c["gemm"] = nlohmann::json::array();
  for (const auto& g : m.gemm) {
    const double flops = 2.0 * double(g.m) * double(g.shape.n) * double(g.shape.k);
    const double bytes = 2.0 * double(g.m * g.shape.k + g.shape.k * g.shape.n + g.m * g.shape.n);
    c["gemm"].push_back({{"name", g.shape.name}, {"tp", g.shape.tp}, {"m", g.m}, {"n", g.shape.n}, {"k", g.shape.k},
                         {"seconds", g.seconds},
                         {"flops_per_s", g.seconds > 0 ? flops / g.seconds : 0},
                         {"bytes_per_s", g.seconds > 0 ? bytes / g.seconds : 0}});
  }
  c["attention"] = nlohmann::json::array();
  for (const auto& a : m.attention)
    c["attention"].push_back({{"tp", a.heads.tp}, {"q_heads", a.heads.q_heads}, {"kv_heads", a.heads.kv_heads},
                              {"head_dim", a.heads.head_dim}, {"batch", a.batch}, {"context", a.context},
                              {"bytes", a.bytes}, {"seconds", a.seconds},
                              {"kernel", attention_kernel_name(a.kernel)},
                              {"own_seconds", a.own_seconds}, {"library_seconds", a.library_seconds},
                              {"bytes_per_s", a.seconds > 0 ? a.bytes / a.seconds : 0},
                              {"fraction_of_hbm_read", a.seconds > 0 && m.hbm_read_bps > 0
                                                           ? a.bytes / a.seconds / m.hbm_read_bps : 0}});
  c["collectives"] = nlohmann::json::array();
  for (const auto& p : m.collectives) {
    const double alg = p.seconds > 0 ? p.bytes / p.seconds : 0;
    c["collectives"].push_back({{"op", collective_name(p.op)}, {"group", p.group}, {"bytes", p.bytes},
                                {"seconds", p.seconds}, {"algbw_bytes_per_s", alg},
                                {"busbw_bytes_per_s", alg * busbw_factor(p.op, p.group)}});
  }
  c["collective_note"] = m.collective_note;
  c["telemetry"] = m.telemetry;
  j["calibration"] = c;
  return j;
}

Table calibration_table(const SystemProfile& base, const SystemProfile& merged, const CalibrateMeasurements& m) {
  Table t;
  t.name = "calibration";
  t.title = "Each measured ceiling against the base profile's";
  t.columns = {Column::words("ceiling", "ceiling", 34),
               Column::numbers("measured", "measured", NumberFormat::general(6), 14).with_missing("-"),
               Column::numbers("base", "base", NumberFormat::general(6), 14).with_missing("-"),
               Column::numbers("ratio", "ratio", NumberFormat::fixed(2), 8).with_missing("-")};
  // Each row has its own unit and precision (in the ceiling's name and `f`).
  auto row = [&](const std::string& what, double measured, double base_v, double scale, const char* f) {
    const Cell a = measured > 0 ? Cell(measured / scale).shown_as(fmt(f, measured / scale)) : Cell::na();
    const Cell b = base_v > 0 ? Cell(base_v / scale).shown_as(fmt(f, base_v / scale)) : Cell::na();
    t.add_row({what, a, b, measured > 0 && base_v > 0 ? Cell(measured / base_v) : Cell::na()});
  };
  row("memory per GPU (GB)", m.memory_bytes, base.memory_bytes, 1e9, "%.2f");
  row("HBM read (TB/s) [hbm_bandwidth]", m.hbm_read_bps, base.hbm_bandwidth, 1e12, "%.3f");
  row("HBM copy (TB/s)", m.hbm_copy_bps, base.hbm_bandwidth, 1e12, "%.3f");
  row("BF16 matmul (TFLOP/s)", m.matmul_flops, base.matmul_flops, 1e12, "%.1f");
  for (const auto& [mm, f] : merged.gemm_efficiency)
    if (!m.gemm.empty()) row("GEMM efficiency m=" + fmt("%.0f", mm), f, base.gemm_fraction(mm), 1, "%.3f");
  // Against the HBM read measured here (what the ratio means to predict), else the base's.
  row("decode attention (TB/s) [base: read here]", attention_bandwidth(m.attention, merged.kernel_overhead_s),
      m.hbm_read_bps > 0 ? m.hbm_read_bps : base.hbm_bandwidth, 1e12, "%.3f");
  for (const auto& [tp, table] : merged.gemm_efficiency_by_tp)
    for (const auto& [mm, f] : table)
      if (mm == 1 || mm == 16 || mm == 256 || mm == 8192)
        row("GEMM efficiency TP=" + std::to_string(tp) + " m=" + fmt("%.0f", mm), f, base.gemm_fraction(mm, tp), 1, "%.3f");
  // A few sizes per measured (op, group): latency-bound, middle and bandwidth-bound.
  for (const auto& [key, curve] : collective_curves(m.collectives))
    for (double probe : {8.0 * 1024, 1024.0 * 1024, 64.0 * 1024 * 1024}) {
      if (probe < curve.front().first || probe > curve.back().first) continue;
      const double time = interpolate_loglog(curve, probe);
      const double tb = base.collectives.has(key.first, key.second)
                            ? base.collectives.time_s(key.first, key.second, probe) : 0;
      row(std::string(collective_name(key.first)) + " n=" + std::to_string(key.second) + " " +
              (probe >= 1 << 20 ? fmt("%.0f MiB", probe / (1 << 20)) : fmt("%.0f KiB", probe / 1024)) + " (us)",
          time, tb, 1e-6, "%.1f");
    }
  return t;
}

void print_calibration_summary(const SystemProfile& base, const SystemProfile& merged, const CalibrateMeasurements& m,
                               std::ostream& out, TableFormat f) {
  if (f != TableFormat::Text) {
    print_table(out, f, calibration_table(base, merged, m));
    return;
  }
  out << "calibration of " << m.gpu_count << " x " << m.gpu_name << " against base profile '" << base.name << "'\n";
  print_table(out, f, calibration_table(base, merged, m));
  if (m.collectives.empty())
    out << "collectives: NOT measured (" << (m.collective_note.empty() ? "no group" : m.collective_note)
        << "); the base profile's tables are kept\n";
  else if (!m.collective_note.empty())
    out << "collectives: " << m.collective_note << "\n";
}

}  // namespace tpbench
