#include "harness/backend/cuda/device_info.hpp"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include <string>

#include "harness/backend/cuda/device_resources.hpp"
#include "harness/backend/cuda/nvml_probe.hpp"
#include "harness/common/error.hpp"

namespace tpbench::cuda {

std::vector<int> visible_devices() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0)
    throw UnavailableError(std::string("--backend cuda: no usable CUDA device (") +
                           (e != cudaSuccess ? cudaGetErrorString(e) : "0 devices") + ")");
  std::vector<int> d(n);
  for (int i = 0; i < n; ++i) d[i] = i;
  return d;
}

int64_t free_memory(int device) {
  DeviceScope scope(device);
  size_t free_b = 0, total_b = 0;
  TPBENCH_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return int64_t(free_b);
}

static std::string version_string(int v, int major_div, int minor_div) {
  return std::to_string(v / major_div) + "." + std::to_string((v % major_div) / minor_div);
}

nlohmann::json system_info(const std::vector<int>& devices) {
  nlohmann::json j;
  int driver = 0, runtime = 0, cublas = 0, nccl = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  cublas = int(cublasGetCudartVersion());
  cublasHandle_t h = nullptr;
  if (cublasCreate(&h) == CUBLAS_STATUS_SUCCESS) {
    cublasGetVersion(h, &cublas);
    cublasDestroy(h);
  }
  ncclGetVersion(&nccl);
  const NvmlProbe nvml;
  j["cuda_driver"] = version_string(driver, 1000, 10);
  j["cuda_runtime"] = version_string(runtime, 1000, 10);
  j["cublas"] = std::to_string(cublas / 10000) + "." + std::to_string((cublas / 100) % 100) + "." +
                std::to_string(cublas % 100);
  j["nccl"] = std::to_string(nccl / 10000) + "." + std::to_string((nccl / 100) % 100) + "." +
              std::to_string(nccl % 100);
  j["nvidia_driver"] = nvml.driver_version();
  j["nvml"] = nvml.available();
  nlohmann::json gpus = nlohmann::json::array();
  for (int d : devices) {
    cudaDeviceProp p{};
    TPBENCH_CUDA_CHECK(cudaGetDeviceProperties(&p, d));
    char bus[32] = {};
    TPBENCH_CUDA_CHECK(cudaDeviceGetPCIBusId(bus, sizeof bus, d));
    nlohmann::json g = {{"index", d},
                        {"name", p.name},
                        {"sm_count", p.multiProcessorCount},
                        {"memory_bytes", int64_t(p.totalGlobalMem)},
                        {"pci_bus_id", bus},
                        {"compute_capability", std::to_string(p.major) + "." + std::to_string(p.minor)},
                        {"l2_bytes", p.l2CacheSize}};
    if (auto s = nvml.sample(bus))
      g["clocks_at_start"] = {{"sm_mhz", s->sm_clock_mhz},
                              {"mem_mhz", s->mem_clock_mhz},
                              {"temperature_c", s->temperature_c},
                              {"throttled", throttled(s->throttle_reasons)},
                              {"power_capped", power_capped(s->throttle_reasons)}};
    g["nvlink"] = nvml.nvlink(bus);
    gpus.push_back(g);
  }
  j["gpus"] = gpus;
  return j;
}

std::optional<std::string> fp8_gemm_unsupported(int device) {
  int major = 0, minor = 0;
  TPBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  TPBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  if (major * 10 + minor >= 89) return std::nullopt;  // Ada (8.9), Hopper (9.0) and later have FP8 tensor cores
  return "GPU " + std::to_string(device) + " (compute capability " + std::to_string(major) + "." +
         std::to_string(minor) + ") has no FP8 tensor cores for FP8 weights (8.9 or later needed)";
}

}  // namespace tpbench::cuda
