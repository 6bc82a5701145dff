#pragma once
// Checked CUDA calls. Every runtime call and every launch (through cudaGetLastError) goes through
// TPBENCH_CUDA_CHECK, which throws std::runtime_error naming the file, the line, the expression and
// the CUDA error string. Usable from .cu files and from host .cpp files under cuda/ folders.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace tpbench::cuda_detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t e, const char* expr, const char* file, int line) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + expr + " failed: " +
                           cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

inline void check_cuda(cudaError_t e, const char* expr, const char* file, int line) {
  if (e != cudaSuccess) throw_cuda_error(e, expr, file, line);
}

}  // namespace tpbench::cuda_detail

#define TPBENCH_CUDA_CHECK(expr) ::tpbench::cuda_detail::check_cuda((expr), #expr, __FILE__, __LINE__)
// After a <<<...>>> launch: catches bad launch configurations at once.
#define TPBENCH_CUDA_CHECK_LAUNCH() TPBENCH_CUDA_CHECK(cudaGetLastError())
