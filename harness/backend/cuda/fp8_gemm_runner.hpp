#pragma once
// Row-major FP8 GEMMs through cuBLASLt: out[m, n] (BF16) = (scale_a x a[m, k]) * (scale_w x w[k, n])
// with E4M3 operands, one FP32 scale per tensor read from device memory (scale pointers, so a
// CUDA graph replays whatever scales are current) and FP32 accumulation (fast accumulation
// off). cuBLASLt's FP8 kernels take the TN layout only: the weight is stored transposed, w_t[n, k]
// row-major (ld >= k), and k, the leading dimensions and every pointer must be multiples of 16
// (bytes, for FP8). The algorithm is chosen once per shape by the heuristic and cached.
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <tuple>

#include "harness/backend/cuda/device_resources.hpp"

namespace tpbench::cuda {

struct Fp8GemmShape {
  int64_t m, n, k, lda, ldw_t, ldo;
  bool operator<(const Fp8GemmShape& o) const {
    return std::tie(m, n, k, lda, ldw_t, ldo) < std::tie(o.m, o.n, o.k, o.lda, o.ldw_t, o.ldo);
  }
};

class Fp8GemmRunner {
 public:
  explicit Fp8GemmRunner(size_t workspace_bytes);
  ~Fp8GemmRunner();
  Fp8GemmRunner(const Fp8GemmRunner&) = delete;
  Fp8GemmRunner& operator=(const Fp8GemmRunner&) = delete;

  // Enqueues the GEMM on `s` (capturable); m == 0 does nothing. Throws std::invalid_argument
  // for a shape or pointer cuBLASLt's FP8 kernels do not take, std::runtime_error when no
  // algorithm exists for it.
  void run(const __nv_fp8_e4m3* a, int64_t lda, const float* scale_a, const __nv_fp8_e4m3* w_t, int64_t ldw_t,
           const float* scale_w, __nv_bfloat16* out, int64_t ldo, int64_t m, int64_t n, int64_t k, cudaStream_t s);
  size_t cached_shapes() const { return plans_.size(); }

 private:
  struct Plan;
  const Plan& plan_for(const Fp8GemmShape& shape);
  cublasLtHandle_t handle_ = nullptr;
  DeviceBuffer workspace_;
  std::map<Fp8GemmShape, Plan*> plans_;
};

}  // namespace tpbench::cuda
