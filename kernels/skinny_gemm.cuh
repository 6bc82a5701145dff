#pragma once
// Memory-bound GEMM for decode batches (M <= 16): out[M,N] = A[M,K] x W[K,N], row-major with
// leading dimensions, BF16 in, FP32 accumulation, BF16 out. W, the big operand, is streamed once
// with 16-byte loads; A's slice lives in shared memory. K is split across CTAs when the N tiles
// alone cannot fill the GPU (kernels/reference_ops.hpp: skinny_gemm_plan); the last CTA of each
// N tile sums the FP32 partials in a fixed order (deterministic) and writes the output.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/reference_ops.hpp"

namespace tpbench::kernels {

struct SkinnyGemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const __nv_bfloat16* a = nullptr;  // [m][k], leading dim lda
  int64_t lda = 0;
  const __nv_bfloat16* w = nullptr;  // [k][n], leading dim ldw; 16-byte aligned
  int64_t ldw = 0;
  __nv_bfloat16* out = nullptr;      // [m][n], leading dim ldo; must not overlap a or w
  int64_t ldo = 0;
};

// Shape rules (m in [1, 16], n % 8 == 0, n <= 262144, ldw % 8 == 0, leading dims >= widths); pointer
// alignment (w 16-byte aligned) is checked by skinny_gemm itself.
bool skinny_gemm_supported(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldw, int64_t ldo);

// Workspace for this shape on the current device; 0 when K is not split. A non-empty workspace
// must be zero-filled ONCE after allocation (cudaMemset); each call leaves it zeroed again, so it
// can be reused by later calls and graph replays, for any shapes (the counters sit at a fixed
// place: one buffer of the largest size serves every shape), but not by two calls running
// concurrently (different streams need different workspaces).
size_t skinny_gemm_workspace_bytes(int64_t m, int64_t n, int64_t k);

// Queues the GEMM on `stream`. cudaErrorInvalidValue for unsupported shapes, misaligned w or a
// too-small workspace.
cudaError_t skinny_gemm(const SkinnyGemmArgs& args, void* workspace, size_t workspace_bytes, cudaStream_t stream);

// The plan the call would use on the current device (split count, CTAs).
cudaError_t skinny_gemm_current_plan(int64_t m, int64_t n, int64_t k, SkinnyGemmPlan* plan);

}  // namespace tpbench::kernels
