#pragma once
// GPU discovery and the "system" section of the JSON document on the cuda backend.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpbench::cuda {

// Devices usable by this process. Throws UnavailableError (one line) without any.
std::vector<int> visible_devices();
int64_t free_memory(int device);
// name, SM count, memory, PCI bus id per GPU; driver, runtime, cuBLAS and NCCL versions;
// NVLink links and clocks/temperature from NVML when it is available.
nlohmann::json system_info(const std::vector<int>& devices);

}  // namespace tpbench::cuda
