#pragma once
// GPU discovery and the "system" section of the JSON document on the cuda backend.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpbench::cuda {

// Devices usable by this process. Throws UnavailableError (one line) without any.
std::vector<int> visible_devices();
int64_t free_memory(int device);
// name, SM count, memory, PCI bus id per GPU; driver, runtime, cuBLAS and NCCL versions;
// NVLink links and clocks/temperature from NVML when it is available.
nlohmann::json system_info(const std::vector<int>& devices);
// Why `device` cannot run FP8 GEMMs (no FP8 tensor cores: compute capability below 8.9), or nothing.
std::optional<std::string> fp8_gemm_unsupported(int device);

}  // namespace tpbench::cuda
