#pragma once
// Device memory a rank needs for a program, decided before anything is allocated: the
// program's buffers at their storage type (FP8 weights and KV one byte an element), the
// attention workspace, cuBLAS workspace, the FP8 GEMMs' input staging and scales, the
// mixture-of-experts ops' row maps and grouped GEMM workspace, and a fixed reserve for the CUDA
// context, NCCL buffers and allocator slack.
#include <cstdint>
#include <optional>
#include <string>

#include "harness/plan/step_program.hpp"

namespace tpbench {

struct DeviceMemoryPlan {
  int64_t buffers = 0;            // weights + KV + activations + staging
  int64_t attention_workspace = 0;
  int64_t gemm_workspace = 0;
  int64_t fp8_gemm = 0;           // FP8 GEMMs: quantized-input staging and scales (Fp8GemmPlan)
  int64_t moe = 0;                // MoE ops: their row maps (moe_device_tables.hpp), the grouped GEMMs' workspace
  int64_t reserve = 0;            // context, NCCL, fragmentation
  int64_t total() const { return buffers + attention_workspace + gemm_workspace + fp8_gemm + moe + reserve; }
};

// `attention_workspace`: bytes the attention kernel asks for (per rank, the largest op);
// `fp8_gemm`: Fp8GemmPlan::device_bytes() of the rank (0 without FP8 weights).
DeviceMemoryPlan plan_device_memory(const RankProgram& r, int64_t attention_workspace, int64_t fp8_gemm = 0);

// Why the plan does not fit in `free_bytes` of device `device`, or nothing.
std::optional<std::string> device_fit(const DeviceMemoryPlan& plan, int64_t free_bytes, int device);

inline constexpr int64_t kGemmWorkspaceBytes = 32ll << 20;  // cuBLASLt workspace per rank
// The cuBLAS handle of the grouped expert GEMMs has a workspace of its own (a rank with MoE ops):
// 32 MiB, what the cuBLAS documentation recommends for Hopper (cublasSetWorkspace).
inline constexpr int64_t kGroupedGemmWorkspaceBytes = 32ll << 20;

// A rank's MoE bytes: its row maps as packed for the device and, when it has grouped GEMMs, their
// cuBLAS workspace. Throws std::logic_error on a malformed table.
int64_t moe_device_bytes(const RankProgram& r);
// CUDA context (~0.5 GiB) + NCCL buffers (NVLS on 8 x H100 can take over 1 GiB) + slack.
inline constexpr int64_t kDeviceReserveBytes = 2ll << 30;

}  // namespace tpbench
