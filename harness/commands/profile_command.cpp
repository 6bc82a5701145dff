#include "harness/commands/profile_command.hpp"

#include <cstdio>
#include <string>

#include "harness/perf/system_profile.hpp"

namespace tpbench {

namespace {

// One line per built-in profile: what `profile show` without a name prints.
void list_builtins(std::ostream& out) {
  char line[200];
  std::snprintf(line, sizeof line, "%-14s %8s %10s %12s %12s  %s\n", "profile", "memory", "HBM", "BF16 dense",
                "FP8 dense", "gpu");
  out << line;
  std::snprintf(line, sizeof line, "%-14s %8s %10s %12s %12s\n", "", "GB", "TB/s", "TFLOP/s", "TFLOP/s");
  out << line;
  for (const std::string& n : builtin_profile_names()) {
    const SystemProfile p = builtin_profile(n);
    const std::string fp8 = p.peak_fp8_matmul_flops > 0 ? std::to_string(int(p.peak_fp8_matmul_flops / 1e12 + 0.5)) : "none";
    std::snprintf(line, sizeof line, "%-14s %8.1f %10.3f %12.0f %12s  %s\n", n.c_str(), p.memory_bytes / 1e9,
                  p.peak_hbm_bandwidth / 1e12, p.peak_matmul_flops / 1e12, fp8.c_str(), p.gpu.c_str());
    out << line;
  }
  out << "(datasheet peaks; `tpbench profile show NAME` for the achievable rates, sources and collective tables)\n";
}

}  // namespace

int run_profile_show(const ProfileOptions& o, std::ostream& out) {
  if (o.name.empty()) {
    if (o.json) {
      nlohmann::json all = nlohmann::json::array();
      for (const std::string& n : builtin_profile_names()) all.push_back(profile_to_json(builtin_profile(n)));
      out << all.dump(2) << "\n";
    } else {
      list_builtins(out);
    }
    return 0;
  }
  const SystemProfile p = resolve_profile(o.name);
  if (o.json) {
    out << profile_to_json(p).dump(2) << "\n";
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
  out << "collectives (sizes as nccl-tests counts them; busbw = algbw x factor):" << src("collectives") << "\n";
  for (const auto& [op, groups] : p.collectives.curves())
    for (const auto& [g, curve] : groups) {
      std::snprintf(line, sizeof line, "  %-14s n=%d\n  %12s %12s %12s\n", collective_name(op), g, "bytes", "time us",
                    "busbw GB/s");
      out << line;
      for (const auto& [b, t] : curve) {
        std::snprintf(line, sizeof line, "  %12.0f %12.2f %12.2f\n", b, t * 1e6, b / t * busbw_factor(op, g) / 1e9);
        out << line;
      }
    }
  return 0;
}

}  // namespace tpbench
