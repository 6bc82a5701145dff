#pragma once
// Device memory a rank needs for a program, decided before anything is allocated: the
// program's buffers in the model's dtype, the attention workspace, cuBLAS workspace, and a
// fixed reserve for the CUDA context, NCCL buffers and allocator slack.
#include <cstdint>
#include <optional>
#include <string>

#include "harness/plan/step_program.hpp"

namespace tpbench {

struct DeviceMemoryPlan {
  int64_t buffers = 0;            // weights + KV + activations + staging
  int64_t attention_workspace = 0;
  int64_t gemm_workspace = 0;
  int64_t reserve = 0;            // context, NCCL, fragmentation
  int64_t total() const { return buffers + attention_workspace + gemm_workspace + reserve; }
};

// `attention_workspace`: bytes the attention kernel asks for (per rank, the largest op).
DeviceMemoryPlan plan_device_memory(const RankProgram& r, int element_bytes, int64_t attention_workspace);

// Why the plan does not fit in `free_bytes` of device `device`, or nothing.
std::optional<std::string> device_fit(const DeviceMemoryPlan& plan, int64_t free_bytes, int device);

inline constexpr int64_t kGemmWorkspaceBytes = 32ll << 20;  // cuBLASLt workspace per rank
// CUDA context (~0.5 GiB) + NCCL buffers (NVLS on 8 x H100 can take over 1 GiB) + slack.
inline constexpr int64_t kDeviceReserveBytes = 2ll << 30;

}  // namespace tpbench
