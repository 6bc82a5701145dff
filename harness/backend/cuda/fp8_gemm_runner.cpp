#include "harness/backend/cuda/fp8_gemm_runner.hpp"

#include <optional>
#include <stdexcept>
#include <string>

#include "harness/backend/cuda/cublaslt_algo.hpp"
#include "kernels/detail/cublas_check.hpp"

namespace tpbench::cuda {

// Row-major out = a * w is column-major out^T = w^T * a^T: cuBLAS's A is w_t (k x n column-major,
// ld ldw_t, transposed by the op), its B is a (k x m, ld lda), its C/D is out (n x m, ld ldo).
struct Fp8GemmRunner::Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

Fp8GemmRunner::Fp8GemmRunner(size_t workspace_bytes) : workspace_(workspace_bytes) {
  TPBENCH_CUBLAS_CHECK(cublasLtCreate(&handle_));
}

Fp8GemmRunner::~Fp8GemmRunner() {
  for (auto& [shape, plan] : plans_) delete plan;
  if (handle_) cublasLtDestroy(handle_);
}

const Fp8GemmRunner::Plan& Fp8GemmRunner::plan_for(const Fp8GemmShape& s) {
  auto it = plans_.find(s);
  if (it != plans_.end()) return *it->second;
  auto* p = new Plan;
  try {
    TPBENCH_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t t = CUBLAS_OP_T, none = CUBLAS_OP_N;
    TPBENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
    TPBENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &none, sizeof none));
    const int8_t fast_accumulation = 0;  // FP32 accumulation throughout, as the cpu backend computes
    TPBENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast_accumulation,
                                                        sizeof fast_accumulation));
    TPBENCH_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->la, CUDA_R_8F_E4M3, uint64_t(s.k), uint64_t(s.n), s.ldw_t));
    TPBENCH_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lb, CUDA_R_8F_E4M3, uint64_t(s.k), uint64_t(s.m), s.lda));
    TPBENCH_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lc, CUDA_R_16BF, uint64_t(s.n), uint64_t(s.m), s.ldo));
    const std::optional<cublasLtMatmulAlgo_t> algo =
        best_lt_algo(handle_, p->desc, p->la, p->lb, p->lc, workspace_.bytes());
    if (!algo)
      throw std::runtime_error("cuBLASLt has no algorithm for FP8 GEMM m=" + std::to_string(s.m) + " n=" +
                               std::to_string(s.n) + " k=" + std::to_string(s.k) + " (an FP8 GEMM needs a GPU with "
                               "FP8 tensor cores, compute capability 8.9 or later)");
    p->algo = *algo;
  } catch (...) {
    delete p;
    throw;
  }
  plans_.emplace(s, p);
  return *p;
}

void Fp8GemmRunner::run(const __nv_fp8_e4m3* a, int64_t lda, const float* scale_a, const __nv_fp8_e4m3* w_t,
                        int64_t ldw_t, const float* scale_w, __nv_bfloat16* out, int64_t ldo, int64_t m, int64_t n,
                        int64_t k, cudaStream_t s) {
  if (m == 0) return;
  auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  if (m < 0 || n <= 0 || k <= 0 || k % 16 != 0 || lda % 16 != 0 || ldw_t % 16 != 0 || lda < k || ldw_t < k ||
      ldo < n || !aligned(a) || !aligned(w_t) || !aligned(out) || !scale_a || !scale_w)
    throw std::invalid_argument("FP8 GEMM m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" +
                                std::to_string(k) + ": cuBLASLt's FP8 kernels need k and the leading dimensions "
                                "multiples of 16, 16-byte aligned pointers and both scales");
  const Plan& p = plan_for({m, n, k, lda, ldw_t, ldo});
  // The scale pointers are set per call: the plan is shared by every GEMM of its shape, each
  // with its own tensors' scales. Setting a descriptor attribute is a host-side write.
  TPBENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scale_w,
                                                      sizeof scale_w));
  TPBENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &scale_a,
                                                      sizeof scale_a));
  const float alpha = 1.0f, beta = 0.0f;
  TPBENCH_CUBLAS_CHECK(cublasLtMatmul(handle_, p.desc, &alpha, w_t, p.la, a, p.lb, &beta, out, p.lc, out, p.lc, &p.algo,
                                      workspace_.get(), workspace_.bytes(), s));
}

}  // namespace tpbench::cuda
