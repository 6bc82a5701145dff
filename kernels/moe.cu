// Gate, row gather and gate-weighted combine of a mixture-of-experts block. All three move a few
// rows of hidden size: bandwidth-bound and small next to the expert GEMMs, so they are written
// for exactness and determinism first (one thread per output element, sums in a fixed order).
//
// UNVERIFIED on hardware: compiled for the project's targets on a machine without a GPU; the
// GPU tests (tests/moe_kernels_gpu_test.cpp) compare them with the CPU reference.
#include <cmath>

#include "kernels/moe.cuh"

namespace tpbench::kernels {
namespace {

using bf16 = __nv_bfloat16;

constexpr int kGateThreads = 128;
constexpr int kRowThreads = 256;

// One thread per row: k is a handful of experts.
__global__ void moe_gate_kernel(const bf16* __restrict__ logits, int64_t ldl, const int32_t* __restrict__ chosen,
                                int64_t k, bf16* __restrict__ gate, int64_t ldg, int64_t rows) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const bf16* l = logits + r * ldl;
  const int32_t* c = chosen + r * k;
  float mx = -INFINITY;
  for (int64_t j = 0; j < k; ++j) mx = fmaxf(mx, __bfloat162float(l[c[j]]));
  float sum = 0.f;
  for (int64_t j = 0; j < k; ++j) sum += expf(__bfloat162float(l[c[j]]) - mx);
  for (int64_t j = 0; j < k; ++j) gate[r * ldg + j] = __float2bfloat16(expf(__bfloat162float(l[c[j]]) - mx) / sum);
}

// One CTA per output row; 16-byte copies where the layout allows (V = 8), else element by element.
template <int V>
__global__ void gather_rows_kernel(const bf16* __restrict__ a, int64_t lda, const int32_t* __restrict__ source,
                                   bf16* __restrict__ out, int64_t ldo, int64_t cols) {
  const int64_t r = blockIdx.x;
  const int32_t s = source[r];
  if (s < 0) return;
  const bf16* src = a + int64_t(s) * lda;
  bf16* dst = out + r * ldo;
  for (int64_t c = int64_t(threadIdx.x) * V; c < cols; c += int64_t(blockDim.x) * V) {
    if constexpr (V == 8) *reinterpret_cast<uint4*>(dst + c) = *reinterpret_cast<const uint4*>(src + c);
    else dst[c] = src[c];
  }
}

// One CTA per output row, one thread per column (strided): the row's terms summed in CSR order.
__global__ void moe_combine_kernel(const bf16* __restrict__ a, int64_t lda, const bf16* __restrict__ gate,
                                   const int32_t* __restrict__ row_start, const int32_t* __restrict__ gate_off,
                                   const int32_t* __restrict__ source, bf16* __restrict__ out, int64_t ldo,
                                   int64_t cols) {
  const int64_t o = blockIdx.x;
  const int32_t begin = row_start[o], end = row_start[o + 1];
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    float acc = 0.f;
    for (int32_t t = begin; t < end; ++t)
      acc = fmaf(__bfloat162float(gate[gate_off[t]]), __bfloat162float(a[int64_t(source[t]) * lda + c]), acc);
    out[o * ldo + c] = __float2bfloat16(acc);
  }
}

bool vec8_ok(const void* p, int64_t ld, int64_t cols) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 8 == 0 && cols % 8 == 0;
}

constexpr int64_t kMaxGridX = 0x7fffffff;

}  // namespace

cudaError_t moe_gate_bf16(const bf16* logits, int64_t ldl, const int32_t* chosen, int64_t k, bf16* gate, int64_t ldg,
                          int64_t rows, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (!logits || !chosen || !gate || rows < 0 || k <= 0 || ldg < k || ldl <= 0) return cudaErrorInvalidValue;
  const int64_t blocks = (rows + kGateThreads - 1) / kGateThreads;
  if (blocks > kMaxGridX) return cudaErrorInvalidValue;
  moe_gate_kernel<<<unsigned(blocks), kGateThreads, 0, stream>>>(logits, ldl, chosen, k, gate, ldg, rows);
  return cudaGetLastError();
}

cudaError_t gather_rows_bf16(const bf16* a, int64_t lda, const int32_t* source, bf16* out, int64_t ldo, int64_t rows,
                             int64_t cols, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (!a || !source || !out || rows < 0 || rows > kMaxGridX || cols <= 0 || lda < cols || ldo < cols)
    return cudaErrorInvalidValue;
  if (vec8_ok(a, lda, cols) && vec8_ok(out, ldo, cols))
    gather_rows_kernel<8><<<unsigned(rows), kRowThreads, 0, stream>>>(a, lda, source, out, ldo, cols);
  else
    gather_rows_kernel<1><<<unsigned(rows), kRowThreads, 0, stream>>>(a, lda, source, out, ldo, cols);
  return cudaGetLastError();
}

cudaError_t moe_combine_bf16(const bf16* a, int64_t lda, const bf16* gate, const int32_t* row_start,
                             const int32_t* gate_off, const int32_t* source, bf16* out, int64_t ldo, int64_t rows,
                             int64_t cols, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (!a || !gate || !row_start || !gate_off || !source || !out || rows < 0 || rows > kMaxGridX || cols <= 0 ||
      lda < cols || ldo < cols)
    return cudaErrorInvalidValue;
  moe_combine_kernel<<<unsigned(rows), kRowThreads, 0, stream>>>(a, lda, gate, row_start, gate_off, source, out, ldo,
                                                                 cols);
  return cudaGetLastError();
}

}  // namespace tpbench::kernels
