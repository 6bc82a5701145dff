#pragma once
// The mixture-of-experts ops of one rank on the GPU: the row maps uploaded once (prepare time,
// harness/backend/moe_device_tables.hpp), the gate, gather and combine kernels (kernels/moe.cuh),
// and the expert GEMMs as one cuBLAS grouped batched GEMM per op over the experts that received
// rows. Which experts those are is fixed when the plan is built (static routing), so the grouped
// GEMMs' sizes and device pointer arrays are built here once and every launch is capturable.
//
// Why cublasGemmGroupedBatchedEx rather than cuBLASLt: the experts' row counts differ, and a
// grouped GEMM takes one problem size per group in one call; cuBLASLt's batched matmul needs
// one shape for the batch. The call takes BF16 A/B/C with CUBLAS_COMPUTE_32F (FP32
// accumulation, as the project's other GEMMs), its pointer arrays in device memory and its sizes
// and scalars in host arrays, which live as long as the runner.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <vector>

#include "harness/backend/cuda/device_resources.hpp"
#include "harness/backend/moe_device_tables.hpp"
#include "harness/plan/step_program.hpp"

namespace tpbench::cuda {

class MoeRunner {
 public:
  // Enqueues the tables' upload on `s` (the caller synchronises before the first step).
  // `buffers`: the device pointer of every program buffer (the pointer arrays point into them).
  // Throws std::logic_error for FP8 expert weights (CudaBackend::cannot_run refuses them).
  MoeRunner(const RankProgram& r, const std::vector<__nv_bfloat16*>& buffers, cudaStream_t s);
  ~MoeRunner();
  MoeRunner(const MoeRunner&) = delete;
  MoeRunner& operator=(const MoeRunner&) = delete;

  // Enqueues one MoeGate, GatherRows, GroupedGemm or MoeCombine op (capturable).
  void launch(const Op& op, const std::vector<__nv_bfloat16*>& buffers, cudaStream_t s);
  // Gives the device memory up without freeing it (a teardown whose work may never finish).
  void leak() noexcept;

 private:
  // The host side of one grouped GEMM call, one group per expert that received rows.
  struct GroupedCall {
    std::vector<cublasOperation_t> trans;
    std::vector<int> m, n, k, lda, ldb, ldc, group_size;
    std::vector<float> alpha, beta;
    int64_t pointer_slot = 0;
  };
  void prepare_grouped(const Op& op, const std::vector<__nv_bfloat16*>& buffers);
  void run_grouped(const Op& op, cudaStream_t s);
  const int32_t* indices(int64_t offset) const { return indices_.get<int32_t>() + offset; }

  MoeDeviceTables tables_;
  DeviceBuffer indices_, pointers_, workspace_;
  std::vector<const void*> pointer_values_;  // the upload's source, kept until the runner goes
  std::vector<GroupedCall> grouped_;         // per table (empty for the other kinds)
  cublasHandle_t handle_ = nullptr;
};

}  // namespace tpbench::cuda
