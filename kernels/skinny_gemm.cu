// Skinny (decode) GEMM: out[M,N] = A[M,K] W[K,N], M <= 16, streaming W with 16-byte loads.
//
// CTA = 256 threads = one 64-column N tile x one K chunk (<= 1024 rows). Lane l of warp w reads
// row (w*4 + l/8) + 32i of the chunk, columns 8*(l%8)..+7 of the tile: each row's 128 bytes are one
// fully used cache line, and a warp instruction moves 512 bytes. Each thread keeps U loads in
// flight before it uses the first (HBM latency x bandwidth per SM is ~20-30 KB in flight). The
// accumulators are FP32 [M tile][8 columns] per thread, reduced across the warp's 4 rows by
// shuffles, across the 8 warps through shared memory, and across K splits by the last CTA of
// each N tile (counter in the workspace, fixed summation order).
//
// Target: >= 90 % of the measured HBM read bandwidth for Llama-3.1-70B shapes at
// M = 1..8 and never slower than cuBLAS; UNVERIFIED: compiled for sm_90, never run on a GPU.
#include <algorithm>

#include "kernels/skinny_gemm.cuh"

namespace tpbench::kernels {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kNTile = int(kSkinnyNTile);
constexpr int kKStep = int(kSkinnyKStep);
static_assert(kWarps * 4 == kKStep && kNTile == 8 * 8, "8 warps x 4 rows per step; 8 lanes x 8 columns");

__device__ __forceinline__ void fma_row(float (&acc)[8], float a, const uint4& v) {
  const uint32_t x[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    // BF16 -> FP32 is a 16-bit shift: the low half is column 2j, the high half column 2j+1.
    acc[2 * j] = fmaf(a, __uint_as_float(x[j] << 16), acc[2 * j]);
    acc[2 * j + 1] = fmaf(a, __uint_as_float(x[j] & 0xffff0000u), acc[2 * j + 1]);
  }
}

template <int MT>
__device__ __forceinline__ void fma_all(float (&acc)[MT][8], const float* a_row, const uint4& v) {
#pragma unroll
  for (int mm = 0; mm < MT; ++mm) fma_row(acc[mm], a_row[mm], v);
}

// One kernel body of ~95 lines on purpose: the split-K reduction at its end reuses the
// accumulators and the tile indices of the main loop, which a split into functions would pass
// around by reference for no clarity gained.
template <int MT>
__global__ void __launch_bounds__(kThreads, MT <= 8 ? 2 : 1)
skinny_gemm_kernel(const bf16* __restrict__ A, int64_t lda, const bf16* __restrict__ W, int64_t ldw,
                   bf16* __restrict__ out, int64_t ldo, int m, int64_t n, int64_t k, int64_t k_per_split,
                   int k_splits, int* __restrict__ counters, float* __restrict__ partials) {
  constexpr int U = MT <= 4 ? 8 : 4;  // loads in flight per thread (registers allow more for small M)
  extern __shared__ __align__(16) float smem[];  // A chunk [rows][MT] as FP32, later the reduction
  __shared__ bool s_last;

  const int tile = blockIdx.x, split = blockIdx.y;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int64_t n0 = int64_t(tile) * kNTile;
  const int64_t k0 = int64_t(split) * k_per_split;
  const int kc = int(min(k_per_split, k - k0));
  const int64_t col = n0 + (lane % 8) * 8;
  const bool col_ok = col < n;  // n % 8 == 0: a vector is all in or all out

  const int r = warp * 4 + lane / 8;
  const int64_t wstep = int64_t(kKStep) * ldw;
  const bf16* wp = W + (k0 + r) * ldw + col;
  uint4 v[U];
  auto load_batch = [&](int kk) {  // rows kk, kk+32, ... of the chunk; rows past it are not read
#pragma unroll
    for (int u = 0; u < U; ++u)
      v[u] = col_ok && kk + u * kKStep < kc ? __ldg(reinterpret_cast<const uint4*>(wp + (kk - r) * ldw + u * wstep))
                                            : make_uint4(0, 0, 0, 0);
  };
  // The first batch of W is in flight while A's chunk is staged: the prologue costs no HBM time.
  load_batch(r);

  for (int i = tid; i < kc * MT; i += kThreads) {
    const int kk = i / MT, mm = i % MT;
    smem[i] = mm < m ? __bfloat162float(A[int64_t(mm) * lda + k0 + kk]) : 0.f;
  }
  __syncthreads();

  float acc[MT][8];
#pragma unroll
  for (int mm = 0; mm < MT; ++mm)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[mm][j] = 0.f;

  for (int kk = r; kk < kc; kk += kKStep * U) {
    if (kk != r) load_batch(kk);
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (kk + u * kKStep < kc) fma_all<MT>(acc, smem + (kk + u * kKStep) * MT, v[u]);  // A past kc is unset
  }

  // Lanes l, l+8, l+16, l+24 hold the same columns for different rows.
#pragma unroll
  for (int mm = 0; mm < MT; ++mm)
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      acc[mm][j] += __shfl_xor_sync(0xffffffffu, acc[mm][j], 8);
      acc[mm][j] += __shfl_xor_sync(0xffffffffu, acc[mm][j], 16);
    }
  __syncthreads();  // everyone is done with the A chunk: reuse the space as red[warp][MT][64]
  float* red = smem;
  if (lane < 8) {
#pragma unroll
    for (int mm = 0; mm < MT; ++mm)
#pragma unroll
      for (int j = 0; j < 8; ++j) red[(warp * MT + mm) * kNTile + lane * 8 + j] = acc[mm][j];
  }
  __syncthreads();
  for (int i = tid; i < MT * kNTile; i += kThreads) {
    const int mm = i / kNTile, c = i % kNTile;
    float sum = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) sum += red[(w * MT + mm) * kNTile + c];
    if (mm < m && n0 + c < n) {
      if (k_splits == 1) out[int64_t(mm) * ldo + n0 + c] = __float2bfloat16(sum);
      else partials[(int64_t(split) * m + mm) * n + n0 + c] = sum;
    }
  }
  if (k_splits == 1) return;

  // Serial split-K reduction: the CTA that brings the tile's counter to k_splits sums all partials.
  __threadfence();  // this CTA's partials are visible device-wide before it is counted
  __syncthreads();
  // atomicInc wraps the counter back to 0 on the last arrival: ready for the next call or graph
  // replay without a separate reset store.
  if (tid == 0)
    s_last = atomicInc(reinterpret_cast<unsigned*>(&counters[tile]), unsigned(k_splits - 1)) == unsigned(k_splits - 1);
  __syncthreads();
  if (!s_last) return;
  __threadfence();
  for (int i = tid; i < m * kNTile; i += kThreads) {
    const int mm = i / kNTile, c = i % kNTile;
    if (n0 + c >= n) continue;
    float sum = 0.f;
    for (int s = 0; s < k_splits; ++s) sum += __ldcg(&partials[(int64_t(s) * m + mm) * n + n0 + c]);
    out[int64_t(mm) * ldo + n0 + c] = __float2bfloat16(sum);
  }
}

template <int MT>
cudaError_t launch_mt(const SkinnyGemmArgs& a, const SkinnyGemmPlan& p, int* counters, float* partials,
                      cudaStream_t s) {
  const size_t smem = sizeof(float) * size_t(std::max<int64_t>(p.k_per_split * MT, int64_t(kWarps) * MT * kNTile));
  // The attribute is per function and device, shared by every host thread and by graphs
  // captured earlier: always set it to this tile's largest possible need (a constant), never to
  // this call's, so that no thread can lower it under another's launch.
  const size_t smem_max =
      sizeof(float) * size_t(std::max<int64_t>(kSkinnyMaxKChunk * MT, int64_t(kWarps) * MT * kNTile));
  cudaError_t e =
      cudaFuncSetAttribute(skinny_gemm_kernel<MT>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem_max));
  if (e != cudaSuccess) return e;
  const dim3 grid(unsigned(p.n_tiles), unsigned(p.k_splits));
  skinny_gemm_kernel<MT><<<grid, kThreads, smem, s>>>(a.a, a.lda, a.w, a.ldw, a.out, a.ldo, int(a.m), a.n, a.k,
                                                      p.k_per_split, int(p.k_splits), counters, partials);
  return cudaGetLastError();
}

cudaError_t sm_count_of_current_device(int* sms) {
  int dev = 0;
  const cudaError_t e = cudaGetDevice(&dev);
  return e != cudaSuccess ? e : cudaDeviceGetAttribute(sms, cudaDevAttrMultiProcessorCount, dev);
}

}  // namespace

bool skinny_gemm_supported(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldw, int64_t ldo) {
  // Grid limits: n tiles in x (2^31-1), K splits in y (<= 65535, far above any real K / 256).
  return skinny_gemm_shape_supported(m, n, k, lda, ldw, ldo) && ceil_div(k, kSkinnyMinKChunk) <= 65535;
}

cudaError_t skinny_gemm_current_plan(int64_t m, int64_t n, int64_t k, SkinnyGemmPlan* plan) {
  if (!plan || m < 1 || m > kSkinnyMaxM || n < 1 || k < 1) return cudaErrorInvalidValue;
  int sms = 0;
  const cudaError_t e = sm_count_of_current_device(&sms);
  if (e == cudaSuccess) *plan = skinny_gemm_plan(m, n, k, sms);
  return e;
}

size_t skinny_gemm_workspace_bytes(int64_t m, int64_t n, int64_t k) {
  SkinnyGemmPlan p;
  if (skinny_gemm_current_plan(m, n, k, &p) != cudaSuccess || p.k_splits == 1) return 0;
  int sms = 0;
  if (sm_count_of_current_device(&sms) != cudaSuccess) return 0;
  return skinny_gemm_workspace_bytes(m, n, k, sms);
}

cudaError_t skinny_gemm(const SkinnyGemmArgs& a, void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  if (!skinny_gemm_supported(a.m, a.n, a.k, a.lda, a.ldw, a.ldo) || !a.a || !a.w || !a.out ||
      reinterpret_cast<uintptr_t>(a.w) % 16 != 0)
    return cudaErrorInvalidValue;
  int sms = 0;
  cudaError_t e = sm_count_of_current_device(&sms);
  if (e != cudaSuccess) return e;
  const SkinnyGemmPlan p = skinny_gemm_plan(a.m, a.n, a.k, sms);
  int* counters = nullptr;
  float* partials = nullptr;
  if (p.k_splits > 1) {
    const size_t need = skinny_gemm_workspace_bytes(a.m, a.n, a.k, sms);
    if (!workspace || workspace_bytes < need || reinterpret_cast<uintptr_t>(workspace) % 256 != 0)
      return cudaErrorInvalidValue;
    counters = static_cast<int*>(workspace);
    partials = reinterpret_cast<float*>(static_cast<char*>(workspace) + kSkinnyCounterBytes);
  }
  switch (skinny_gemm_m_tile(a.m)) {
    case 1: return launch_mt<1>(a, p, counters, partials, stream);
    case 2: return launch_mt<2>(a, p, counters, partials, stream);
    case 4: return launch_mt<4>(a, p, counters, partials, stream);
    case 8: return launch_mt<8>(a, p, counters, partials, stream);
    default: return launch_mt<16>(a, p, counters, partials, stream);
  }
}

}  // namespace tpbench::kernels
