#pragma once
// Optional NVML access, loaded at run time with dlopen (the toolkit here ships no nvml.h and
// machines without a driver have no libnvidia-ml): clocks, temperature, throttle reasons and
// NVLink state per GPU. Every query returns nothing when NVML is unavailable.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tpbench::cuda {

struct GpuSample {
  unsigned sm_clock_mhz = 0, mem_clock_mhz = 0, temperature_c = 0;
  unsigned long long throttle_reasons = 0;  // NVML clocks-event reasons bit mask
};

class NvmlProbe {
 public:
  NvmlProbe();   // loads libnvidia-ml.so.1 and initialises it, if present
  ~NvmlProbe();  // shuts NVML down and unloads it
  NvmlProbe(const NvmlProbe&) = delete;
  NvmlProbe& operator=(const NvmlProbe&) = delete;

  bool available() const;
  // Device by PCI bus id ("0000:18:00.0", as cudaDeviceGetPCIBusId writes it).
  std::optional<GpuSample> sample(const std::string& pci_bus_id) const;
  // Active NVLink links and their remote PCI bus ids, as JSON; null when unknown.
  nlohmann::json nvlink(const std::string& pci_bus_id) const;
  std::string driver_version() const;

 private:
  struct Api;
  std::unique_ptr<Api> api_;
};

// Throttle reasons that mean the GPU is slowed for a thermal or hardware reason (bits of
// nvmlClocksEventReasons: HW slowdown 0x8, SW thermal 0x20, HW thermal 0x40, HW power brake
// 0x80). The software power cap (0x4) is reported apart: an H100/H200 under sustained load sits
// at its power cap routinely, and flagging that as throttling would flag nearly every point.
bool throttled(unsigned long long reasons);
bool power_capped(unsigned long long reasons);

}  // namespace tpbench::cuda
