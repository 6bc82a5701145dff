#include "harness/backend/cuda/cublaslt_algo.hpp"

#include "kernels/detail/cublas_check.hpp"

namespace tpbench::cuda {

std::optional<cublasLtMatmulAlgo_t> best_lt_algo(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                                 cublasLtMatrixLayout_t la, cublasLtMatrixLayout_t lb,
                                                 cublasLtMatrixLayout_t lc, uint64_t workspace_bytes,
                                                 std::optional<LtAlignments> alignments) {
  cublasLtMatmulPreference_t pref = nullptr;
  TPBENCH_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  // Every preference is checked: one silently rejected would leave the heuristic with no
  // workspace or the default alignments, and a slower algorithm than the shape allows.
  auto set = [&](cublasLtMatmulPreferenceAttributes_t attr, const void* v, size_t n) {
    const cublasStatus_t e = cublasLtMatmulPreferenceSetAttribute(pref, attr, v, n);
    if (e != CUBLAS_STATUS_SUCCESS) cublasLtMatmulPreferenceDestroy(pref);
    TPBENCH_CUBLAS_CHECK(e);
  };
  set(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes, sizeof workspace_bytes);
  if (alignments) {
    set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &alignments->a, sizeof alignments->a);
    set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &alignments->b, sizeof alignments->b);
    set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &alignments->c, sizeof alignments->c);
    set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &alignments->c, sizeof alignments->c);
  }
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle, desc, la, lb, lc, lc, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st == CUBLAS_STATUS_NOT_SUPPORTED || (st == CUBLAS_STATUS_SUCCESS && found == 0)) return std::nullopt;
  TPBENCH_CUBLAS_CHECK(st);
  return result.algo;
}

}  // namespace tpbench::cuda
