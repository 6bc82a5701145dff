// Temporary: device probe only, until the CUDA backend (issue 3) lands.
#include <cuda_runtime.h>

#include "harness/backend/cuda_backend_factory.hpp"
#include "harness/common/error.hpp"

namespace tpbench {

std::unique_ptr<Backend> make_cuda_backend(const BackendOptions&) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0)
    throw UnavailableError(std::string("--backend cuda: no usable CUDA device (") +
                           (e != cudaSuccess ? cudaGetErrorString(e) : "0 devices") + ")");
  throw UnavailableError("--backend cuda: the CUDA backend is not implemented in this build yet");
}

}  // namespace tpbench
