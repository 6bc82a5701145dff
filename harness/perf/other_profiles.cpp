// Built-in profiles beyond Hopper: A100 SXM 80GB (what many already own), HGX B200 and GB200
// NVL72 (what they compare Hopper with). Hardware numbers come from NVIDIA datasheets; the
// collective tables are derived from the H100 table with each interconnect's published
// large-message busbw (or its link bandwidth at H100's efficiency), as said at each; the
// software-side figures (kernel and step overheads, efficiencies) are carried over from
// h100-sxm unmeasured, and their sources say so. Replace any of them with `tpbench calibrate`.
#include <string>

#include "harness/perf/detail/builtin_profiles.hpp"

namespace tpbench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0, kGiB = kMiB * 1024.0;

// Starts from h100-sxm and marks the fields this profile keeps from it as carried over.
SystemProfile carried_over_from_h100(const std::string& name, const std::string& gpu) {
  SystemProfile p = builtin_profile("h100-sxm");
  p.name = name;
  p.gpu = gpu;
  for (const char* k : {"gemm_efficiency", "attention_efficiency", "decode_attention_efficiency", "per_step_overhead_s",
                        "kernel_overhead_s", "per_layer_overhead_s", "runtime_reserve_bytes", "kv_link_latency_s"})
    p.sources[k] = "carried over from h100-sxm, unmeasured on " + gpu + ": " + p.sources[k];
  return p;
}

// The achievable fractions of the datasheet rates measured (or estimated) on H100.
void rates_from_peaks(SystemProfile& p, const std::string& gpu) {
  p.hbm_bandwidth = 0.90 * p.peak_hbm_bandwidth;
  p.sources["hbm_bandwidth"] = "90 % of peak, the fraction stream/copy benchmarks reach on H100 (Luo et al. 2024 "
                               "arXiv:2402.13499), carried over, unmeasured on " + gpu;
  p.matmul_flops = 0.70 * p.peak_matmul_flops;
  p.sources["matmul_flops"] = "70 % of the BF16 peak, the fraction large cuBLAS GEMMs reach on H100, carried over, "
                              "unmeasured on " + gpu;
  p.fp8_matmul_flops = 0.70 * p.peak_fp8_matmul_flops;
  p.sources["fp8_matmul_flops"] = p.peak_fp8_matmul_flops > 0
                                      ? "70 % of the FP8 peak, H100's BF16 fraction carried over, unmeasured on " + gpu
                                      : "absent: " + gpu + " has no FP8 tensor cores (NVIDIA Ampere architecture "
                                                           "whitepaper: third-generation Tensor Cores run TF32, BF16, "
                                                           "FP16, INT8, INT4, FP64); FP8 on it is refused";
}

}  // namespace

SystemProfile a100_sxm_80gb_profile() {
  SystemProfile p = carried_over_from_h100("a100-sxm-80gb", "NVIDIA A100-SXM4-80GB (HBM2e)");
  p.memory_bytes = 81920.0 * kMiB;
  p.sources["memory_bytes"] = "80 GB HBM2e (NVIDIA A100 datasheet); nvidia-smi memory.total = 81920 MiB on A100 80GB "
                              "(modal-labs/modal-client PR #2797, 2025)";
  p.peak_hbm_bandwidth = 2.039e12;
  p.sources["peak_hbm_bandwidth"] = "NVIDIA A100 datasheet: 2,039 GB/s HBM2e (A100 80GB SXM)";
  p.peak_matmul_flops = 312e12;
  p.sources["peak_matmul_flops"] = "NVIDIA A100 datasheet: 312 TFLOP/s dense BF16 Tensor Core (624 with sparsity)";
  p.peak_fp8_matmul_flops = 0;
  p.sources["peak_fp8_matmul_flops"] = "absent: no FP8 tensor cores on Ampere (NVIDIA A100 datasheet lists none)";
  rates_from_peaks(p, "A100");
  p.kv_link_bandwidth = 25e9;
  p.sources["kv_link_bandwidth"] = "one 200 Gb/s ConnectX-6 HDR NIC per GPU (DGX A100 user guide: 8 single-port "
                                   "ConnectX-6 for the compute fabric): 25 GB/s per rank";
  // NVLink 3 (600 GB/s per GPU both ways, 2/3 of H100's 900) through NVSwitch: no NVLink SHARP,
  // so every group runs rings; nccl-tests all_reduce busbw on 8x A100 SXM4 is 230-250 GB/s at
  // large sizes (docs.alayanew.com "NCCL-tests in practice", 2026), against H100's ~370 (ring)
  // and ~480 GB/s (8 GPUs, NVLink SHARP).
  NvlinkScaling s;
  s.ring_ratio = 240.0 / 370.0;
  s.switch_ratio = 240.0 / 480.0;
  p.collectives = derived_nvlink_tables(s);
  p.sources["collectives"] = "derived from the h100-sxm tables: H100 latency floors kept (unmeasured on A100), "
                             "bandwidth terms divided by 240/370 (2 and 4 GPUs) and 240/480 (8 GPUs), the published "
                             "8x A100 SXM4 nccl-tests all_reduce busbw of 230-250 GB/s (docs.alayanew.com, 2026) over "
                             "H100's; all_gather/reduce_scatter capped at 240 GB/s busbw; " +
                             std::string(kAllToAllDerivation);
  return p;
}

namespace {

// B200 as on HGX B200 and in GB200 NVL72: NVLink 5 at 1.8 TB/s per GPU both ways, twice NVLink
// 4. Groups of 2 and 4 at H100's ring efficiency on twice the link bandwidth; groups of 8 and
// more at the 811 GB/s all_reduce busbw measured on 8 GB200 GPUs over multi-node NVLink
// (lixueduan.com "GB200 MNNVL NCCL test", 2 trays of 4 GPUs), below twice H100's 480 GB/s.
NvlinkScaling nvlink5_scaling() {
  NvlinkScaling s;
  s.ring_ratio = 2.0;
  s.switch_ratio = 811.0 / 480.0;
  return s;
}

const char* kNvlink5Source =
    "derived from the h100-sxm tables: H100 latency floors kept (unmeasured on Blackwell), bandwidth terms divided "
    "by 2 for 2 and 4 GPUs (NVLink 5's 1.8 TB/s per GPU over NVLink 4's 900 GB/s, H100's ring efficiency carried "
    "over) and by 811/480 for 8 GPUs (811 GB/s all_reduce busbw measured on 8 GB200 GPUs over NVLink, "
    "lixueduan.com GB200 MNNVL NCCL test, against H100's 480); all_gather/reduce_scatter capped at 740 GB/s busbw";

void blackwell_rates(SystemProfile& p, const std::string& gpu) {
  rates_from_peaks(p, gpu);
  p.kv_link_bandwidth = 50e9;
  p.sources["kv_link_bandwidth"] = "one 400 Gb/s ConnectX-7 NIC per GPU for the compute fabric (DGX B200 user "
                                   "guide; GB200 NVL72 compute trays likewise): 50 GB/s per rank";
  p.collectives = derived_nvlink_tables(nvlink5_scaling());
  p.sources["collectives"] = std::string(kNvlink5Source) + "; " + kAllToAllDerivation;
}

}  // namespace

SystemProfile b200_profile() {
  SystemProfile p = carried_over_from_h100("b200", "NVIDIA B200 (HGX B200, HBM3e)");
  p.memory_bytes = 179.0 * kGiB;
  p.sources["memory_bytes"] = "NVIDIA HGX B200 datasheet: 1,440 GB HBM3e for 8 GPUs (180 GB each); 179 GiB per GPU "
                              "as nvidia-smi reports it (Vultr HGX B200 hardware overview, 2026)";
  p.peak_hbm_bandwidth = 8.0e12;
  p.sources["peak_hbm_bandwidth"] = "NVIDIA HGX B200 datasheet: 8 TB/s HBM3e per GPU (64 TB/s for 8)";
  p.peak_matmul_flops = 2.25e15;
  p.sources["peak_matmul_flops"] = "NVIDIA HGX B200 datasheet: 36 PFLOP/s FP16/BF16 with sparsity for 8 GPUs: "
                                   "2.25 PFLOP/s dense per GPU (at 1,000 W)";
  p.peak_fp8_matmul_flops = 4.5e15;
  p.sources["peak_fp8_matmul_flops"] = "NVIDIA HGX B200 datasheet: 72 PFLOP/s FP8 with sparsity for 8 GPUs: "
                                       "4.5 PFLOP/s dense per GPU";
  blackwell_rates(p, "B200");
  return p;
}

SystemProfile gb200_nvl72_profile() {
  SystemProfile p = carried_over_from_h100("gb200-nvl72", "NVIDIA GB200 NVL72 (B200 at 1,200 W, HBM3e)");
  p.memory_bytes = 13.4e12 / 72.0;
  p.sources["memory_bytes"] = "NVIDIA GB200 NVL72 datasheet: up to 13.4 TB HBM3e for 72 GPUs: 186 GB each";
  p.peak_hbm_bandwidth = 576e12 / 72.0;
  p.sources["peak_hbm_bandwidth"] = "NVIDIA GB200 NVL72 datasheet: 576 TB/s for 72 GPUs: 8 TB/s each";
  p.peak_matmul_flops = 2.5e15;
  p.sources["peak_matmul_flops"] = "NVIDIA GB200 NVL72 datasheet: 360 PFLOP/s FP16/BF16 with sparsity for 72 GPUs: "
                                   "2.5 PFLOP/s dense per GPU";
  p.peak_fp8_matmul_flops = 5.0e15;
  p.sources["peak_fp8_matmul_flops"] = "NVIDIA GB200 NVL72 datasheet: 720 PFLOP/s FP8 with sparsity for 72 GPUs: "
                                       "5 PFLOP/s dense per GPU";
  blackwell_rates(p, "GB200");
  // One NVLink domain of 72 GPUs (18 NVLink switch chips, one hop between any two GPUs): TP
  // and EP groups up to 72. Beyond 8 GPUs no published table was found: the bandwidth term at
  // the 8-GPU busbw grows with the all_reduce factor; the latency floor grows by 2 us per
  // doubling (assumed, unmeasured: one more level of NCCL's tree per doubling).
  NvlinkScaling s = nvlink5_scaling();
  s.groups = {2, 4, 8, 16, 32, 64, 72};
  s.latency_per_doubling_us = 2.0;
  p.collectives = derived_nvlink_tables(s);
  p.sources["collectives"] = std::string(kNvlink5Source) + "; " + kAllToAllDerivation +
                             "; groups of 16-72 from the 8-GPU row at the same busbw (all_reduce factor 2(g-1)/g) "
                             "with the latency floor +2 us per doubling (assumed, unmeasured)";
  return p;
}

}  // namespace tpbench
