#pragma once
// The best cuBLASLt algorithm for a matmul descriptor and its layouts, as the heuristic ranks it
// under a workspace cap (and, where given, the buffers' guaranteed alignments). Shared by the
// BF16 and FP8 GEMM runners; each names its own shape when nothing comes back.
#include <cublasLt.h>

#include <cstdint>
#include <optional>

namespace tpbench::cuda {

struct LtAlignments {
  uint32_t a = 0, b = 0, c = 0;  // bytes; C's also stands for D (the output written in place)
};

// nullopt when cuBLASLt has no algorithm for these layouts (it reports that as NOT_SUPPORTED or
// as zero results); every other failing status throws with its name.
std::optional<cublasLtMatmulAlgo_t> best_lt_algo(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                                 cublasLtMatrixLayout_t la, cublasLtMatrixLayout_t lb,
                                                 cublasLtMatrixLayout_t lc, uint64_t workspace_bytes,
                                                 std::optional<LtAlignments> alignments = std::nullopt);

}  // namespace tpbench::cuda
