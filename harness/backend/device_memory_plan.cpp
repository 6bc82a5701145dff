#include "harness/backend/device_memory_plan.hpp"

#include <cstdio>

#include "harness/backend/moe_device_tables.hpp"

namespace tpbench {

DeviceMemoryPlan plan_device_memory(const RankProgram& r, int64_t attention_workspace, int64_t fp8_gemm) {
  DeviceMemoryPlan p;
  p.buffers = footprint(r).total();  // each buffer at its own storage type
  p.fp8_gemm = fp8_gemm;
  p.attention_workspace = attention_workspace;
  p.gemm_workspace = kGemmWorkspaceBytes;
  p.moe = moe_device_bytes(r);
  p.reserve = kDeviceReserveBytes;
  return p;
}

int64_t moe_device_bytes(const RankProgram& r) {
  if (r.moe_tables.empty()) return 0;
  const MoeDeviceTables t = pack_moe_tables(r);
  bool grouped = false;
  for (const MoeTableLayout& l : t.tables) grouped = grouped || l.kind == OpKind::GroupedGemm;
  return t.bytes() + (grouped ? kGroupedGemmWorkspaceBytes : 0);
}

std::optional<std::string> device_fit(const DeviceMemoryPlan& plan, int64_t free_bytes, int device) {
  if (plan.total() <= free_bytes) return std::nullopt;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "needs %.2f GiB per rank (buffers %.2f GiB + workspaces + %.1f GiB reserve) but GPU %d has %.2f GiB "
                "free (try --layers, a smaller batch or context, or more TP)",
                plan.total() / 1073741824.0, plan.buffers / 1073741824.0, plan.reserve / 1073741824.0, device,
                free_bytes / 1073741824.0);
  return std::string(buf);
}

}  // namespace tpbench
