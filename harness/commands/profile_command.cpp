#include "harness/commands/profile_command.hpp"

#include <cstdio>
#include <string>

#include "harness/perf/system_profile.hpp"

namespace tpbench {

namespace {

// One row per built-in profile: what `profile show` without a name prints.
Table builtins_table() {
  using NF = NumberFormat;
  Table t;
  t.name = "profiles";
  t.title = "Built-in system profiles (datasheet peaks)";
  t.columns = {Column::words("profile", "profile", 14),
               Column::numbers("memory_gb", "memory", NF::fixed(1), 8).with_unit("GB"),
               Column::numbers("hbm_tb_s", "HBM", NF::fixed(3), 10).with_unit("TB/s"),
               Column::numbers("bf16_dense_tflop_s", "BF16 dense", NF::fixed(0), 12).with_unit("TFLOP/s"),
               Column::numbers("fp8_dense_tflop_s", "FP8 dense", NF::fixed(0), 12).with_unit("TFLOP/s").with_missing("none"),
               Column::words("gpu", "gpu", 0).with_gap("  ")};
  t.text_unit_row = true;
  for (const std::string& n : builtin_profile_names()) {
    const SystemProfile p = builtin_profile(n);
    // Whole TFLOP/s, rounded half up as the datasheets print them.
    const Cell fp8 = p.peak_fp8_matmul_flops > 0 ? Cell(int64_t(p.peak_fp8_matmul_flops / 1e12 + 0.5)) : Cell::na();
    t.add_row({n, p.memory_bytes / 1e9, p.peak_hbm_bandwidth / 1e12, p.peak_matmul_flops / 1e12, fp8, p.gpu});
  }
  return t;
}

// Every collective table of the profile, one row per size; the text form prints one table per
// collective and group size.
Table collectives_table(const SystemProfile& p) {
  using NF = NumberFormat;
  Table t;
  t.name = "collectives";
  t.title = "Collective times (sizes as nccl-tests counts them; busbw = algbw x factor)";
  t.columns = {Column::words("collective", "collective").hidden_in_text(),
               Column::numbers("ranks", "ranks", NF::integer()).hidden_in_text(),
               Column::numbers("bytes", "bytes", NF::fixed(0), 12).with_unit("B"),
               Column::numbers("time_us", "time us", NF::fixed(2), 12).with_unit("us"),
               Column::numbers("busbw_gb_s", "busbw GB/s", NF::fixed(2), 12).with_unit("GB/s")};
  t.text_header_prefix = t.text_row_prefix = "  ";
  for (const auto& [op, groups] : p.collectives.curves())
    for (const auto& [g, curve] : groups)
      for (const auto& [b, time] : curve)
        t.add_row({collective_name(op), g, b, time * 1e6, b / time * busbw_factor(op, g) / 1e9});
  return t;
}

// `source`: where the tables come from, as the other lines of `profile show` end.
void print_collectives_text(const Table& t, const std::string& source, std::ostream& out) {
  out << "collectives (sizes as nccl-tests counts them; busbw = algbw x factor):" << source << "\n";
  std::string group;
  for (const Row& r : t.rows) {
    const std::string this_group = *r.cells[0].text() + " n=" + std::to_string(*r.cells[1].integer());
    if (this_group != group) {
      char line[64];
      std::snprintf(line, sizeof line, "  %-14s n=%lld\n", r.cells[0].text()->c_str(), (long long)*r.cells[1].integer());
      out << line << text_header_lines(t);
      group = this_group;
    }
    out << text_row_line(t, r);
  }
}

}  // namespace

int run_profile_show(const ProfileOptions& o, std::ostream& out) {
  if (o.name.empty()) {
    if (o.json) {
      nlohmann::json all = nlohmann::json::array();
      for (const std::string& n : builtin_profile_names()) all.push_back(profile_to_json(builtin_profile(n)));
      out << all.dump(2) << "\n";
    } else {
      print_table(out, o.format, builtins_table());
      if (o.format == TableFormat::Text)
        out << "(datasheet peaks; `tpbench profile show NAME` for the achievable rates, sources and collective tables)\n";
    }
    return 0;
  }
  const SystemProfile p = resolve_profile(o.name);
  if (o.json) {
    out << profile_to_json(p).dump(2) << "\n";
    return 0;
  }
  if (o.format != TableFormat::Text) {
    print_table(out, o.format, collectives_table(p));
    return 0;
  }
  char line[320];
  auto src = [&](const char* k) {
    auto it = p.sources.find(k);
    return it == p.sources.end() ? std::string() : "  [" + it->second + "]";
  };
  out << "profile " << p.name << " (" << p.gpu << ")\n";
  std::snprintf(line, sizeof line, "  memory            %8.2f GB", p.memory_bytes / 1e9);
  out << line << src("memory_bytes") << "\n";
  std::snprintf(line, sizeof line, "  HBM bandwidth     %8.3f TB/s achievable, %.3f TB/s peak", p.hbm_bandwidth / 1e12,
                p.peak_hbm_bandwidth / 1e12);
  out << line << src("hbm_bandwidth") << "\n";
  std::snprintf(line, sizeof line, "  matmul BF16       %8.1f TFLOP/s achievable, %.1f TFLOP/s peak", p.matmul_flops / 1e12,
                p.peak_matmul_flops / 1e12);
  out << line << src("matmul_flops") << "\n";
  if (p.fp8_matmul_flops > 0) {
    std::snprintf(line, sizeof line, "  matmul FP8        %8.1f TFLOP/s achievable, %.1f TFLOP/s peak", p.fp8_matmul_flops / 1e12,
                  p.peak_fp8_matmul_flops / 1e12);
    out << line << src("fp8_matmul_flops") << "\n";
  } else {
    out << "  matmul FP8        none" << src("fp8_matmul_flops") << "\n";
  }
  std::snprintf(line, sizeof line, "  attention eff.    %8.2f of peak (prefill); decode attention %.2f of HBM bandwidth",
                p.attention_efficiency, p.decode_attention_efficiency);
  out << line << "\n";
  std::snprintf(line, sizeof line, "  overhead          %8.3f ms/step + %.1f us/layer", p.per_step_overhead_s * 1e3,
                p.per_layer_overhead_s * 1e6);
  out << line << "\n";
  std::snprintf(line, sizeof line, "  runtime reserve   %8.2f GB/GPU; KV link %.1f GB/s per rank, %.0f us", p.runtime_reserve_bytes / 1e9,
                p.kv_link_bandwidth / 1e9, p.kv_link_latency_s * 1e6);
  out << line << "\n";
  auto table = [&](const std::string& title, const std::vector<std::pair<double, double>>& t) {
    out << "  " << title << ":";
    for (const auto& [m, f] : t) {
      std::snprintf(line, sizeof line, " %g:%.3g", m, f);
      out << line;
    }
    out << "\n";
  };
  if (!p.gemm_efficiency.empty()) table("GEMM efficiency by m", p.gemm_efficiency);
  for (const auto& [tp, t] : p.gemm_efficiency_by_tp) table("GEMM efficiency by m, TP=" + std::to_string(tp), t);
  print_collectives_text(collectives_table(p), src("collectives"), out);
  return 0;
}

}  // namespace tpbench
