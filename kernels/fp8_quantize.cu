#include "kernels/fp8_quantize.cuh"

namespace tpbench::kernels {
namespace {

__global__ void quantize_kernel(const __nv_bfloat16* x, int64_t ldx, __nv_fp8_e4m3* out, int64_t ldo, int64_t rows,
                                int64_t cols, float scale) {
  const int64_t n = rows * cols;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, c = i % cols;
    out[r * ldo + c] = __nv_fp8_e4m3(__bfloat162float(x[r * ldx + c]) / scale);  // saturating, nearest even
  }
}

}  // namespace

cudaError_t quantize_bf16_e4m3(const __nv_bfloat16* x, int64_t ldx, __nv_fp8_e4m3* out, int64_t ldo, int64_t rows,
                               int64_t cols, float scale, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return cudaSuccess;
  const int64_t blocks = (rows * cols + 255) / 256;
  quantize_kernel<<<unsigned(blocks < 4096 ? blocks : 4096), 256, 0, stream>>>(x, ldx, out, ldo, rows, cols, scale);
  return cudaGetLastError();
}

}  // namespace tpbench::kernels
