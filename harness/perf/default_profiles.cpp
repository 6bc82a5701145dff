// Built-in system profiles. Every number says where it comes from. These are the "speed of
// light" inputs of `tpbench predict`: datasheets and published micro-benchmarks, never the
// llm-d serving points. Replace them with `tpbench calibrate` output for a measured machine.
#include <algorithm>
#include <cmath>
#include <iterator>

#include "harness/common/error.hpp"
#include "harness/perf/detail/builtin_profiles.hpp"
#include "harness/perf/system_profile.hpp"

namespace tpbench {
namespace {

constexpr double kKiB = 1024.0, kMiB = kKiB * 1024, kGiB = kMiB * 1024;

// all_reduce times in microseconds at nccl-tests message sizes, one row per group size, for
// 8x H100 SXM on NVSwitch (NVLink 4, 900 GB/s bidirectional per GPU). Shape follows published
// nccl-tests all_reduce_perf runs on DGX/HGX H100 (NCCL 2.18-2.21, in-place): small-message
// latency ~8-12 us; busbw ~55 GB/s at 1 MiB, ~250 GB/s at 16 MiB, ~470-480 GB/s at >=256 MiB for
// 8 GPUs (NVLS), ~380 GB/s for 4 and ~360 GB/s for 2 GPUs (ring/LL128). Sources: NVIDIA
// nccl-tests doc/PERFORMANCE.md (busbw definition); DGX H100 acceptance figures of 460-480 GB/s
// all_reduce busbw (e.g. docs.alayanew.com "NCCL-tests in practice", 2026); ASTRA-sim HGX-H100
// NCCL validation (astra-sim.github.io, 2/4/8-GPU ring all_reduce); an NCCL maintainer's figures
// for H100 (NVIDIA/nccl-tests issue #212, 2024): ~480 GB/s all_reduce busbw on 8 GPUs with NVLink
// SHARP at large sizes (256 MiB is too small to reach it), and ~370 GB/s effective NVLink busbw
// for everything else (ring, or any other collective). At 1-16 MiB these times are 1.35-2x a
// single alpha-beta line through the latency and the peak busbw, which is why the model uses tables.
struct Row { double bytes; double us2, us4, us8; };
constexpr double kNvlinkBusbw = 370e9;  // bytes/s: NCCL's effective NVLink 4 busbw without SHARP
constexpr Row kAllReduceH100[] = {
    {8, 8.0, 10.0, 12.0},
    {4 * kKiB, 8.5, 10.5, 13.0},
    {16 * kKiB, 9.5, 11.5, 14.5},
    {64 * kKiB, 11.5, 14.0, 17.0},
    {256 * kKiB, 16.0, 20.0, 24.0},
    {1 * kMiB, 24.0, 30.0, 34.0},
    {4 * kMiB, 42.0, 52.0, 57.0},
    {16 * kMiB, 75.0, 108.0, 118.0},
    {64 * kMiB, 220.0, 290.0, 300.0},
    {256 * kMiB, 780.0, 1070.0, 1000.0},
    {1 * kGiB, 2950.0, 4200.0, 3900.0},
};

// The H100 row's all_reduce time at group g (2, 4 or 8).
double h100_us(const Row& r, int g) { return g == 2 ? r.us2 : g == 4 ? r.us4 : r.us8; }

}  // namespace

const char* const kAllToAllDerivation =
    "all_to_all derived, not measured: the all_gather curve, because all-to-all sends (n-1)/n of its nccl-tests "
    "size per rank as all-gather does (nccl-tests doc/PERFORMANCE.md and src/alltoall.cu: busbw = algbw (n-1)/n for "
    "both) and NCCL reaches the same effective NVLink busbw on every operation but NVLink-SHARP all-reduce (an NCCL "
    "maintainer, NVIDIA/nccl-tests issue #212: ~370 GB/s on H100 for non-allreduce operations); no published "
    "nccl-tests alltoall table for these GPUs was found; small sizes keep all_gather's latency floor, which all-to-all's "
    "n-1 point-to-point messages may exceed";

CollectiveTable derived_nvlink_tables(const NvlinkScaling& s) {
  constexpr const Row& kFirst = kAllReduceH100[0];
  CollectiveTable t;
  for (int g : s.groups) {
    const int base = std::min(g, 8);  // groups beyond 8 start from the 8-GPU (switch) row
    // At a constant busbw the bandwidth term of a group of g grows over one of `base` as the
    // all_reduce factor 2(g-1)/g.
    const double ratio = base == 8 ? s.switch_ratio : s.ring_ratio;
    const double scale = busbw_factor(CollectiveKind::AllReduce, g) / busbw_factor(CollectiveKind::AllReduce, base) / ratio;
    const double latency_us = h100_us(kFirst, base) + s.latency_per_doubling_us * std::log2(double(g) / base);
    CollectiveCurve ar, half;
    for (const Row& r : kAllReduceH100) {
      const double excess_us = h100_us(r, base) - h100_us(kFirst, base);
      const double us = latency_us + excess_us * scale;
      ar.emplace_back(r.bytes, us * 1e-6);
      // all_gather / reduce_scatter move half of all_reduce's bytes per rank ((n-1)/n vs
      // 2(n-1)/n of the buffer) at about the same busbw in nccl-tests, so at bandwidth-bound
      // sizes they take ~half the time, but without NVLink SHARP's help: never above the
      // effective ring busbw (nccl-tests #212 on H100). Their latency floor is ~80 % of
      // all_reduce's.
      const double ring_us = r.bytes * double(g - 1) / double(g) / (kNvlinkBusbw * s.ring_ratio) * 1e6;
      half.emplace_back(r.bytes, std::max({0.8 * latency_us, 0.5 * us, ring_us}) * 1e-6);
    }
    t.set_curve(CollectiveKind::AllReduce, g, ar);
    t.set_curve(CollectiveKind::AllGather, g, half);
    t.set_curve(CollectiveKind::ReduceScatter, g, half);
    // all_to_all: derived, not measured (kAllToAllDerivation says why it is all_gather's curve).
    t.set_curve(CollectiveKind::AllToAll, g, half);
  }
  return t;
}

namespace {

void common_hopper(SystemProfile& p) {
  p.peak_matmul_flops = 989.4e12;
  p.sources["peak_matmul_flops"] = "NVIDIA H100/H200 SXM datasheets: 989 TFLOP/s dense BF16 Tensor Core (1979 with sparsity)";
  p.matmul_flops = 0.70 * p.peak_matmul_flops;
  p.sources["matmul_flops"] = "70 % of peak: large BF16 cuBLAS GEMMs on H100 SXM reach ~650-750 TFLOP/s in published "
                              "benchmarks (NVIDIA cuBLAS 12 blog; Luo et al. 2024 'Benchmarking and Dissecting the "
                              "Nvidia Hopper GPU Architecture', arXiv:2402.13499), at sustained clocks";
  p.peak_fp8_matmul_flops = 1978.9e12;
  p.sources["peak_fp8_matmul_flops"] = "NVIDIA H100/H200 SXM datasheets: 1979 TFLOP/s dense FP8 Tensor Core (3958 with "
                                       "sparsity), twice the BF16 rate";
  p.fp8_matmul_flops = 0.70 * p.peak_fp8_matmul_flops;
  p.sources["fp8_matmul_flops"] = "70 % of the FP8 peak: the BF16 fraction carried over (unmeasured for FP8 here); "
                                  "replace with calibrate";
  // Fraction of matmul_flops by GEMM rows m: skinny GEMMs cannot fill 132 SMs with tiles.
  p.gemm_efficiency = {{1, 0.25}, {16, 0.4}, {64, 0.65}, {256, 0.85}, {1024, 1.0}};
  p.sources["gemm_efficiency"] = "tile-quantization estimate for 128x128/128x256 CTA tiles on 132 SMs; replace with calibrate";
  p.attention_efficiency = 0.5;
  p.sources["attention_efficiency"] = "prefill attention at 50 % of peak: FlashAttention-2 ~35 %, FlashAttention-3 ~75 % "
                                      "of H100 BF16 peak (Shah et al. 2024, arXiv:2407.08608); vLLM uses either";
  p.decode_attention_efficiency = 1.0;
  p.sources["decode_attention_efficiency"] =
      "1.0: decode attention streams K/V at the achievable HBM read rate (speed of light); calibrate "
      "measures the kernel's fraction";
  p.per_step_overhead_s = 0.5e-3;
  p.sources["per_step_overhead_s"] = "scheduler, input preparation and sampling not hidden behind the GPU (vLLM V1 "
                                     "design notes: CPU overhead is overlapped but not zero); order of 0.5 ms";
  p.kernel_overhead_s = 2.2e-6;
  p.sources["kernel_overhead_s"] =
      "2.2 us per kernel inside a CUDA graph on H200: back-to-back small-kernel runs of te42kyfo/gpu-benches "
      "(gpu-small-kernels/h200_graph.txt: ~30 GB/s at 64 KiB moved, time per kernel = a + bytes/bandwidth); so a "
      "kernel streaming a TP8 shard of a 70B layer (16.8-21 MB) reaches ~72-76 % of the achievable HBM rate and a "
      "132 MB one ~95 % (vLLM PR #49363 measures a batch-1 BF16 GEMM of 132 MB at ~86 % of H100 peak, 95 % of 0.9 "
      "x peak: consistent)";
  p.per_layer_overhead_s = 2 * p.kernel_overhead_s;
  p.sources["per_layer_overhead_s"] = "the two kernels per layer a serving stack runs that no plan op stands for "
                                      "(rotary embedding; the KV-cache write, vLLM's reshape_and_cache), at "
                                      "kernel_overhead_s each";
  p.runtime_reserve_bytes = 2.5 * kGiB;
  p.sources["runtime_reserve_bytes"] = "non-torch memory (CUDA context, NCCL buffers, cuBLAS workspace) plus the CUDA-graph "
                                       "pool that vLLM's memory profiler reports for 70B-class models, ~1.5-3 GiB per GPU";
  p.kv_link_bandwidth = 50e9;
  p.kv_link_latency_s = 100e-6;
  p.sources["kv_link_bandwidth"] = "one 400 Gb/s ConnectX-7 NIC per GPU (DGX H100/H200 user guide): 50 GB/s per rank for "
                                   "NIXL KV transfer between nodes";
  p.sources["kv_link_latency_s"] = "assumed, not measured: ~100 us fixed cost per NIXL transfer (RDMA round trips and "
                                   "the connector's metadata exchange); small beside a 10000-token prompt's ~8-16 ms";
  p.collectives = derived_nvlink_tables(NvlinkScaling{});
  p.sources["collectives"] = "NVLink 4 / NVSwitch all_reduce curves in the shape of published nccl-tests runs on "
                             "DGX/HGX H100, large sizes at an NCCL maintainer's ~480 GB/s (8 GPUs, NVLink SHARP) and "
                             "~370 GB/s busbw (NVIDIA/nccl-tests issue #212); small sizes estimated (see "
                             "default_profiles.cpp); all_gather/reduce_scatter at half the time, at most 370 GB/s busbw; " +
                             std::string(kAllToAllDerivation);
}

}  // namespace

std::vector<std::string> builtin_profile_names() {
  return {"a100-sxm-80gb", "h100-sxm", "h200-sxm", "b200", "gb200-nvl72"};
}

SystemProfile builtin_profile(const std::string& name) {
  if (name == "a100-sxm-80gb") return a100_sxm_80gb_profile();
  if (name == "b200") return b200_profile();
  if (name == "gb200-nvl72") return gb200_nvl72_profile();
  SystemProfile p;
  p.name = name;
  if (name == "h100-sxm") {
    p.gpu = "NVIDIA H100 80GB HBM3 (SXM5)";
    p.memory_bytes = 81559.0 * kMiB;
    p.sources["memory_bytes"] = "80 GB HBM3 (datasheet); nvidia-smi memory.total = 81559 MiB on H100 SXM5";
    p.peak_hbm_bandwidth = 3.35e12;
    p.sources["peak_hbm_bandwidth"] = "NVIDIA H100 SXM datasheet: 3.35 TB/s HBM3";
    p.hbm_bandwidth = 0.90 * p.peak_hbm_bandwidth;
    p.sources["hbm_bandwidth"] = "90 % of peak: stream/copy micro-benchmarks on H100 SXM measure ~2.9-3.1 TB/s "
                                 "(Luo et al. 2024 arXiv:2402.13499; BabelStream results)";
  } else if (name == "h200-sxm") {
    p.gpu = "NVIDIA H200 141GB HBM3e (SXM)";
    p.memory_bytes = 143771.0 * kMiB;
    p.sources["memory_bytes"] = "141 GB HBM3e (datasheet); nvidia-smi memory.total = 143771 MiB on H200 SXM";
    p.peak_hbm_bandwidth = 4.8e12;
    p.sources["peak_hbm_bandwidth"] = "NVIDIA H200 datasheet: 4.8 TB/s HBM3e";
    p.hbm_bandwidth = 0.90 * p.peak_hbm_bandwidth;
    p.sources["hbm_bandwidth"] = "90 % of peak, the fraction measured on H100 (same memory controller generation); "
                                 "replace with calibrate";
  } else {
    std::string known;
    for (const auto& n : builtin_profile_names()) known += (known.empty() ? "" : ", ") + n;
    throw UsageError("unknown profile '" + name + "' (built-in: " + known + "; or a profile JSON file)");
  }
  common_hopper(p);
  return p;
}

namespace {

double loglog_interpolate(const std::vector<std::pair<double, double>>& table, double m) {
  if (table.empty()) return 1.0;
  if (m <= table.front().first) return table.front().second;
  if (m >= table.back().first) return table.back().second;
  for (size_t i = 1; i < table.size(); ++i) {
    const auto& [m1, f1] = table[i];
    if (m <= m1) {
      const auto& [m0, f0] = table[i - 1];
      const double t = (std::log(m) - std::log(m0)) / (std::log(m1) - std::log(m0));
      return std::exp(std::log(f0) + t * (std::log(f1) - std::log(f0)));
    }
  }
  return table.back().second;
}

}  // namespace

const SystemProfile::GemmTimes* SystemProfile::gemm_table(int64_t n, int64_t k) const {
  for (const GemmTimes& t : gemm_times)
    if (t.n == n && t.k == k) return &t;
  return nullptr;
}

double SystemProfile::gemm_fraction(double m, int tp) const {
  if (tp <= 0 || gemm_efficiency_by_tp.empty()) return loglog_interpolate(gemm_efficiency, m);
  // Between two measured TPs (TP2 between 1 and 4, say): log-log in TP too; outside: the nearest.
  const auto hi = gemm_efficiency_by_tp.lower_bound(tp);
  if (hi == gemm_efficiency_by_tp.end()) return loglog_interpolate(gemm_efficiency_by_tp.rbegin()->second, m);
  if (hi->first == tp || hi == gemm_efficiency_by_tp.begin()) return loglog_interpolate(hi->second, m);
  const auto lo = std::prev(hi);
  const double t = (std::log(double(tp)) - std::log(double(lo->first))) /
                   (std::log(double(hi->first)) - std::log(double(lo->first)));
  const double f0 = loglog_interpolate(lo->second, m), f1 = loglog_interpolate(hi->second, m);
  return std::exp(std::log(f0) + t * (std::log(f1) - std::log(f0)));
}

}  // namespace tpbench
