// RMSNorm, SiLU-and-multiply and residual add in BF16 with FP32 math. All three are pure
// bandwidth: each element is read once and written once, so the only goals are 16-byte accesses
// where the layout allows and enough CTAs.
//
// Issue 5's targets for the decode step (skinny GEMM >= 90 % and decode attention >= 85 % of the
// measured HBM read bandwidth; a CUDA-graph decode step <= 1.03 x the sum of its kernels' isolated
// times, to which these small kernels contribute launch-sized pieces) are UNVERIFIED: this file
// was compiled for sm_90 on a machine without a GPU and has never run.
#include <algorithm>
#include <cmath>

#include "kernels/elementwise.cuh"

namespace tpbench::kernels {
namespace {

using bf16 = __nv_bfloat16;

// V = 8: 8 BF16 = 16 bytes in one access; V = 1: scalar path for unaligned layouts.
template <int V>
__device__ __forceinline__ void load_vec(const bf16* p, float (&f)[V]) {
  if constexpr (V == 8) {
    const uint4 u = *reinterpret_cast<const uint4*>(p);
    const uint32_t x[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      f[2 * j] = __uint_as_float(x[j] << 16);
      f[2 * j + 1] = __uint_as_float(x[j] & 0xffff0000u);
    }
  } else {
#pragma unroll
    for (int j = 0; j < V; ++j) f[j] = __bfloat162float(p[j]);
  }
}
template <int V>
__device__ __forceinline__ void store_vec(bf16* p, const float (&f)[V]) {
  if constexpr (V == 8) {
    uint32_t x[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const __nv_bfloat162 h = __floats2bfloat162_rn(f[2 * j], f[2 * j + 1]);  // .x = low half
      x[j] = *reinterpret_cast<const uint32_t*>(&h);
    }
    *reinterpret_cast<uint4*>(p) = make_uint4(x[0], x[1], x[2], x[3]);
  } else {
#pragma unroll
    for (int j = 0; j < V; ++j) p[j] = __float2bfloat16(f[j]);
  }
}

bool vec8_ok(const void* p, int64_t ld, int64_t cols) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 8 == 0 && cols % 8 == 0;
}

constexpr int kNormThreads = 256;

// One CTA per row: sum of squares (FP32 per thread, tree across the CTA), then scale. The second
// pass re-reads the row from L1/L2 rather than keeping a hidden-size row in registers.
template <int V>
__global__ void __launch_bounds__(kNormThreads)
rmsnorm_kernel(const bf16* x, int64_t ldx  /* may alias out */, const bf16* __restrict__ w, bf16* out, int64_t ldo,
               int64_t cols) {
  const int64_t r = blockIdx.x;
  const bf16* xr = x + r * ldx;
  float ss = 0.f;
  for (int64_t c = int64_t(threadIdx.x) * V; c < cols; c += int64_t(kNormThreads) * V) {
    float f[V];
    load_vec<V>(xr + c, f);
#pragma unroll
    for (int j = 0; j < V; ++j) ss = fmaf(f[j], f[j], ss);
  }
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, off);
  __shared__ float part[kNormThreads / 32];
  __shared__ float s_inv;
  if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = ss;
  __syncthreads();
  if (threadIdx.x == 0) {
    float t = 0.f;
    for (int i = 0; i < kNormThreads / 32; ++i) t += part[i];
    s_inv = rsqrtf(t / float(cols) + kRmsNormEps);
  }
  __syncthreads();
  const float inv = s_inv;
  bf16* orow = out + r * ldo;
  for (int64_t c = int64_t(threadIdx.x) * V; c < cols; c += int64_t(kNormThreads) * V) {
    float f[V], g[V];
    load_vec<V>(xr + c, f);
    load_vec<V>(w + c, g);
#pragma unroll
    for (int j = 0; j < V; ++j) f[j] = f[j] * inv * g[j];
    store_vec<V>(orow + c, f);
  }
}

// Grid: x = chunks of 256*V columns, y = rows (strided loop for more than 65535 rows).
template <int V>
__global__ void silu_mul_kernel(const bf16* __restrict__ a, int64_t lda, bf16* __restrict__ out, int64_t ldo,
                                int64_t rows, int64_t n) {
  const int64_t c = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * V;
  if (c >= n) return;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    float g[V], u[V];
    load_vec<V>(a + r * lda + c, g);
    load_vec<V>(a + r * lda + n + c, u);
#pragma unroll
    for (int j = 0; j < V; ++j) g[j] = g[j] / (1.0f + expf(-g[j])) * u[j];
    store_vec<V>(out + r * ldo + c, g);
  }
}

template <int V>
__global__ void residual_add_kernel(const bf16* __restrict__ a, int64_t lda, bf16* __restrict__ out, int64_t ldo,
                                    int64_t rows, int64_t cols) {
  const int64_t c = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * V;
  if (c >= cols) return;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    float x[V], y[V];
    load_vec<V>(a + r * lda + c, x);
    load_vec<V>(out + r * ldo + c, y);
#pragma unroll
    for (int j = 0; j < V; ++j) y[j] += x[j];
    store_vec<V>(out + r * ldo + c, y);
  }
}

dim3 rows_grid(int64_t rows, int64_t cols, int v, int threads) {
  const int64_t chunks = (cols + int64_t(threads) * v - 1) / (int64_t(threads) * v);
  return dim3(unsigned(chunks), unsigned(std::min<int64_t>(rows, 65535)));
}

}  // namespace

cudaError_t rmsnorm_bf16(const bf16* x, int64_t ldx, const bf16* w, bf16* out, int64_t ldo, int64_t rows,
                         int64_t cols, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (!x || !w || !out || rows < 0 || rows > 0x7fffffff || cols <= 0 || ldx < cols || ldo < cols)
    return cudaErrorInvalidValue;
  const bool v8 = vec8_ok(x, ldx, cols) && vec8_ok(out, ldo, cols) && vec8_ok(w, cols, cols);
  if (v8) rmsnorm_kernel<8><<<unsigned(rows), kNormThreads, 0, stream>>>(x, ldx, w, out, ldo, cols);
  else rmsnorm_kernel<1><<<unsigned(rows), kNormThreads, 0, stream>>>(x, ldx, w, out, ldo, cols);
  return cudaGetLastError();
}

cudaError_t silu_mul_bf16(const bf16* a, int64_t lda, bf16* out, int64_t ldo, int64_t rows, int64_t n,
                          cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (!a || !out || rows < 0 || n <= 0 || lda < 2 * n || ldo < n) return cudaErrorInvalidValue;
  const int threads = 256;
  // The up half starts n columns after the gate half: both must be 16-byte aligned for vectors.
  if (vec8_ok(a, lda, n) && vec8_ok(out, ldo, n))
    silu_mul_kernel<8><<<rows_grid(rows, n, 8, threads), threads, 0, stream>>>(a, lda, out, ldo, rows, n);
  else
    silu_mul_kernel<1><<<rows_grid(rows, n, 1, threads), threads, 0, stream>>>(a, lda, out, ldo, rows, n);
  return cudaGetLastError();
}

cudaError_t residual_add_bf16(const bf16* a, int64_t lda, bf16* out, int64_t ldo, int64_t rows, int64_t cols,
                              cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (!a || !out || rows < 0 || cols <= 0 || lda < cols || ldo < cols) return cudaErrorInvalidValue;
  const int threads = 256;
  if (vec8_ok(a, lda, cols) && vec8_ok(out, ldo, cols))
    residual_add_kernel<8><<<rows_grid(rows, cols, 8, threads), threads, 0, stream>>>(a, lda, out, ldo, rows, cols);
  else
    residual_add_kernel<1><<<rows_grid(rows, cols, 1, threads), threads, 0, stream>>>(a, lda, out, ldo, rows, cols);
  return cudaGetLastError();
}

}  // namespace tpbench::kernels
