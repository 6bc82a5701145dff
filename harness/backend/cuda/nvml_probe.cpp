#include "harness/backend/cuda/nvml_probe.hpp"

#include <dlfcn.h>

namespace tpbench::cuda {

// The few NVML entry points used, declared by their documented C signatures (NVML's ABI is
// stable; nvmlDevice_t is an opaque pointer, return codes are ints with 0 = success).
struct NvmlProbe::Api {
  using Device = void*;
  void* lib = nullptr;
  int (*init)() = nullptr;
  int (*shutdown)() = nullptr;
  int (*by_pci)(const char*, Device*) = nullptr;
  int (*clock)(Device, int, unsigned*) = nullptr;
  int (*temperature)(Device, int, unsigned*) = nullptr;
  int (*reasons)(Device, unsigned long long*) = nullptr;
  int (*link_state)(Device, unsigned, int*) = nullptr;
  int (*link_remote)(Device, unsigned, void*) = nullptr;
  int (*driver)(char*, unsigned) = nullptr;
  bool ok = false;

  template <typename F>
  void load(F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(lib, name));
  }
};

NvmlProbe::NvmlProbe() : api_(std::make_unique<Api>()) {
  api_->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!api_->lib) return;
  api_->load(api_->init, "nvmlInit_v2");
  api_->load(api_->shutdown, "nvmlShutdown");
  api_->load(api_->by_pci, "nvmlDeviceGetHandleByPciBusId_v2");
  api_->load(api_->clock, "nvmlDeviceGetClockInfo");
  api_->load(api_->temperature, "nvmlDeviceGetTemperature");
  api_->load(api_->reasons, "nvmlDeviceGetCurrentClocksThrottleReasons");
  api_->load(api_->link_state, "nvmlDeviceGetNvLinkState");
  api_->load(api_->link_remote, "nvmlDeviceGetNvLinkRemotePciInfo_v2");
  api_->load(api_->driver, "nvmlSystemGetDriverVersion");
  api_->ok = api_->init && api_->shutdown && api_->by_pci && api_->init() == 0;
}

NvmlProbe::~NvmlProbe() {
  if (api_->ok) api_->shutdown();
  if (api_->lib) dlclose(api_->lib);
}

bool NvmlProbe::available() const { return api_->ok; }

std::optional<GpuSample> NvmlProbe::sample(const std::string& pci) const {
  if (!api_->ok) return std::nullopt;
  Api::Device d = nullptr;
  if (api_->by_pci(pci.c_str(), &d) != 0) return std::nullopt;
  GpuSample s;
  // NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2, NVML_TEMPERATURE_GPU = 0
  if (api_->clock) api_->clock(d, 1, &s.sm_clock_mhz);
  if (api_->clock) api_->clock(d, 2, &s.mem_clock_mhz);
  if (api_->temperature) api_->temperature(d, 0, &s.temperature_c);
  if (api_->reasons) api_->reasons(d, &s.throttle_reasons);
  return s;
}

nlohmann::json NvmlProbe::nvlink(const std::string& pci) const {
  if (!api_->ok || !api_->link_state) return nullptr;
  Api::Device d = nullptr;
  if (api_->by_pci(pci.c_str(), &d) != 0) return nullptr;
  nlohmann::json links = nlohmann::json::array();
  // nvmlPciInfo_t: busIdLegacy[16], domain, bus, device, pciDeviceId, pciSubSystemId, busId[32]
  struct PciInfo {
    char legacy[16];
    unsigned domain, bus, device, id, subsystem;
    char bus_id[32];
  };
  for (unsigned link = 0; link < 18; ++link) {  // NVML_NVLINK_MAX_LINKS on Hopper
    int active = 0;
    if (api_->link_state(d, link, &active) != 0 || !active) continue;
    PciInfo remote{};
    std::string peer;
    if (api_->link_remote && api_->link_remote(d, link, &remote) == 0) peer = remote.bus_id;
    links.push_back({{"link", link}, {"remote_pci_bus_id", peer}});
  }
  return links;
}

std::string NvmlProbe::driver_version() const {
  if (!api_->ok || !api_->driver) return "";
  char buf[96] = {};
  return api_->driver(buf, sizeof buf) == 0 ? std::string(buf) : "";
}

bool throttled(unsigned long long r) { return (r & (0x8ull | 0x20ull | 0x40ull | 0x80ull)) != 0; }
bool power_capped(unsigned long long r) { return (r & 0x4ull) != 0; }

}  // namespace tpbench::cuda
