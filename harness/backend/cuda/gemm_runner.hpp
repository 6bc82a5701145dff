#pragma once
// Row-major BF16 GEMMs (out[m,n] = a[m,k] * w[k,n], FP32 accumulation) through cuBLASLt, with
// the algorithm chosen once per shape and alignment by the heuristic and cached (a decode step
// repeats the same few shapes 80 times). For decode shapes (m <= 16) the skinny kernel of
// kernels/skinny_gemm.cuh is timed against cuBLASLt (once per device and shape in a process)
// and used only where it measured faster:
// through tune() before a step, on an idle device (the cuda backend tunes every GEMM of a
// program in prepare()), else the first time the shape runs outside a graph capture.
// Owns the handle and workspaces.
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/detail/cublas_check.hpp"
#include "harness/backend/cuda/device_resources.hpp"
#include "harness/plan/step_program.hpp"
#include "kernels/l2_flush.cuh"

namespace tpbench::cuda {

struct GemmShape {
  int64_t m, n, k, lda, ldw, ldo;
  int align_a, align_w, align_o;  // pointer alignment in bytes (up to 16)
  bool operator<(const GemmShape& o) const {
    return std::tie(m, n, k, lda, ldw, ldo, align_a, align_w, align_o) <
           std::tie(o.m, o.n, o.k, o.lda, o.ldw, o.ldo, o.align_a, o.align_w, o.align_o);
  }
};

class GemmRunner {
 public:
  explicit GemmRunner(size_t workspace_bytes);
  ~GemmRunner();
  GemmRunner(const GemmRunner&) = delete;
  GemmRunner& operator=(const GemmRunner&) = delete;

  // Enqueues the GEMM on `s` (capturable). m == 0 does nothing.
  void run(const __nv_bfloat16* a, int64_t lda, const __nv_bfloat16* w, int64_t ldw, __nv_bfloat16* out,
           int64_t ldo, int64_t m, int64_t n, int64_t k, cudaStream_t s);

  // Times the skinny kernel against cuBLASLt for this decode shape now (m in 1..16; nothing
  // otherwise, and nothing when the shape was decided before). Synchronous; the output is
  // overwritten. Call it with nothing else running on the device.
  void tune(const __nv_bfloat16* a, int64_t lda, const __nv_bfloat16* w, int64_t ldw, __nv_bfloat16* out,
            int64_t ldo, int64_t m, int64_t n, int64_t k, cudaStream_t s);
  size_t cached_shapes() const { return plans_.size(); }
  // Sizes (and zeroes, on `s`) the skinny kernel's workspace for every decode GEMM of the
  // program up front, so that it is never reallocated (a device-wide cudaFree) during a step.
  void reserve_skinny_workspace(const RankProgram& r, cudaStream_t s);
  // The same for an explicit size (micro-benchmarks that run shapes of their own).
  void reserve_skinny_workspace(size_t bytes, cudaStream_t s);
  // Flushes the L2 before every timed run of the skinny-vs-cuBLASLt choice, so that weights come
  // from HBM as they do inside a step of many layers (not owned; null: no flush).
  void set_autotune_flush(kernels::L2Flush* flush) { autotune_flush_ = flush; }
  // Shapes for which the skinny kernel won its timing against cuBLASLt (or won it earlier in
  // this process on this device: a choice is timed once per device and shape).
  size_t skinny_shapes() const;
  // Candidates that failed to run while a choice was timed ("skinny: <error>"), in order.
  const std::vector<std::string>& tuning_errors() const { return tuning_errors_; }

 private:
  struct Plan;
  bool use_skinny(const GemmShape& shape, const __nv_bfloat16* a, const __nv_bfloat16* w, __nv_bfloat16* out,
                  cudaStream_t s);
  void run_cublas(const GemmShape& shape, const __nv_bfloat16* a, const __nv_bfloat16* w, __nv_bfloat16* out,
                  cudaStream_t s);
  void run_skinny(const GemmShape& shape, const __nv_bfloat16* a, const __nv_bfloat16* w, __nv_bfloat16* out,
                  cudaStream_t s);
  int device_ = 0;
  std::map<GemmShape, bool> skinny_choice_;
  std::vector<std::string> tuning_errors_;
  kernels::L2Flush* autotune_flush_ = nullptr;
  DeviceBuffer skinny_ws_;
  const Plan& plan_for(const GemmShape& shape);
  cublasLtHandle_t handle_ = nullptr;
  DeviceBuffer workspace_;
  std::map<GemmShape, Plan*> plans_;
};

int pointer_alignment(const void* p);  // 16, 8, 4, 2 or 1

// The skinny kernel's workspace for the program's largest decode GEMM (m in 1..kSkinnyMaxM) on
// a device of `sm_count` SMs: what reserve_skinny_workspace allocates and the memory fit counts.
size_t skinny_workspace_bytes(const RankProgram& r, int sm_count);

}  // namespace tpbench::cuda
