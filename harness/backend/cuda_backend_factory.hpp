#pragma once
// Entry point of the CUDA backend (built only with TPBENCH_HAVE_CUDA). Host-only header.
#include <memory>

#include "harness/backend/backend.hpp"

namespace tpbench {

// Throws UnavailableError with one line when there is no usable CUDA device (no driver, no
// GPU, fewer GPUs than ranks without --oversubscribe).
std::unique_ptr<Backend> make_cuda_backend(const BackendOptions& o);
// All ranks for real: NCCL on N GPUs, or the device-local group on one GPU (emulation,
// oversubscription).
std::unique_ptr<Backend> make_cuda_verification_backend(const BackendOptions& o);

}  // namespace tpbench
