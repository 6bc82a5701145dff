#pragma once
// Checked cuBLAS / cuBLASLt calls naming file and line (the CUDA runtime's are in
// kernels/detail/cuda_check.hpp).
#include <cublasLt.h>
#include <cublas_v2.h>

#include <stdexcept>
#include <string>

#define TPBENCH_CUBLAS_CHECK(expr)                                                                          \
  do {                                                                                                      \
    const cublasStatus_t tpbench_status_ = (expr);                                                          \
    if (tpbench_status_ != CUBLAS_STATUS_SUCCESS)                                                           \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + #expr +      \
                               " failed: " + cublasGetStatusString(tpbench_status_));                       \
  } while (0)
