// Flash-decoding for T = 1, head_dim 128: CTA (split, kv head, sequence) streams its contiguous
// run of positions through a 4-stage cp.async pipeline (16-byte copies, 32 positions of K and V per
// stage), computes the scores of all q heads of its group at once on the tensor cores (WMMA BF16,
// FP32 accumulation; the group's <= 16 heads are the 16 rows of the MMA, so K and V are read
// once per KV head, not once per q head), keeps an online softmax per head, and writes either
// the final output (one split) or an unnormalised partial output with its max and sum, which
// attention_combine_kernel merges. The split count comes from attention_split_plan
// (kernels/reference_ops.cpp): enough CTAs to fill every SM with whole waves.
//
// Why WMMA and not CUDA cores: 8 q heads per KV head cost 2 x 8 x 128 FMAs per 512 bytes of K+V,
// about 40 % of the H100's FP32 rate at full HBM bandwidth before any overhead; on the tensor
// cores that work is negligible and the kernel stays memory-bound.
//
// Target: >= 85 % of the measured HBM read bandwidth at a 10k context. UNVERIFIED: this
// kernel has been compiled for sm_90 but has never run on a GPU.
#include <mma.h>

#include <cmath>

#include "kernels/decode_attention.cuh"

namespace tpbench::kernels {
namespace {

using bf16 = __nv_bfloat16;
namespace wmma = nvcuda::wmma;

constexpr int kD = 128;                    // head_dim of this path
constexpr int kTile = int(kAttnTilePositions);
constexpr int kStages = 4;
constexpr int kThreads = 128;              // 4 warps
constexpr int kRows = 16;                  // MMA rows = q heads of the group (padded with zeros)
constexpr int kKvLd = kD + 8;              // +16 bytes per row: no bank conflicts for the fragment loads
constexpr int kSLd = kTile + 4;
constexpr int kPLd = kTile + 8;
constexpr int kOLd = kD + 4;

constexpr int kKvStageElems = 2 * kTile * kKvLd;  // K tile then V tile
constexpr size_t kKvBytes = size_t(kStages) * kKvStageElems * sizeof(bf16);
constexpr size_t kQBytes = size_t(kRows) * kKvLd * sizeof(bf16);
constexpr size_t kSBytes = size_t(kRows) * kSLd * sizeof(float);
constexpr size_t kPBytes = size_t(kRows) * kPLd * sizeof(bf16);
constexpr size_t kOBytes = size_t(kRows) * kOLd * sizeof(float);
constexpr size_t kSmemBytes = kKvBytes + kQBytes + kSBytes + kPBytes + kOBytes;  // 86016: 2 CTAs per SM
static_assert(kKvBytes % 128 == 0 && kQBytes % 128 == 0 && kSBytes % 128 == 0 && kPBytes % 128 == 0,
              "each shared region must start 128-byte aligned (WMMA needs 32)");
static_assert(kTile == 32 && kThreads == 128, "the softmax maps 8 threads to each of the 16 rows x 32 columns");

__device__ __forceinline__ void cp_async16(bf16* dst, const bf16* src, bool valid) {
  const unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  // src-size 0 writes 16 zero bytes: positions past the split read as zeros, never stale NaNs.
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// One kernel body of ~145 lines on purpose: the cp.async pipeline's stages share registers and
// shared-memory tiles across the loop, and splitting it into device functions would hide which
// values stay live between the stages (the part that decides occupancy).
__global__ void __launch_bounds__(kThreads, 2)
attention_split_kernel(const bf16* __restrict__ qkv, int64_t ld_qkv, const bf16* __restrict__ kc,
                       const bf16* __restrict__ vc, int64_t cache_seq0, int64_t s_stride, int64_t context,
                       int qh, int kvh, int64_t pps, int splits, bf16* __restrict__ out, int64_t ld_out,
                       float* __restrict__ ws_o, float* __restrict__ ws_m, float* __restrict__ ws_l,
                       float scale_log2) {
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* kv_s = reinterpret_cast<bf16*>(smem);
  bf16* q_s = reinterpret_cast<bf16*>(smem + kKvBytes);
  float* s_s = reinterpret_cast<float*>(smem + kKvBytes + kQBytes);
  bf16* p_s = reinterpret_cast<bf16*>(smem + kKvBytes + kQBytes + kSBytes);
  float* o_s = reinterpret_cast<float*>(smem + kKvBytes + kQBytes + kSBytes + kPBytes);

  const int split = blockIdx.x, kh = blockIdx.y, b = blockIdx.z;
  const int group = qh / kvh;
  const int tid = threadIdx.x, warp = tid / 32;
  const int64_t start = int64_t(split) * pps;
  const int64_t end = min(context, start + pps);
  const int n_tiles = int((end - start + kTile - 1) / kTile);
  const int64_t head_off = ((cache_seq0 + b) * kvh + kh) * s_stride * kD;
  const bf16* kbase = kc + head_off;
  const bf16* vbase = vc + head_off;

  auto issue = [&](int tile, int stage) {
    const int64_t p0 = start + int64_t(tile) * kTile;
    bf16* ks = kv_s + stage * kKvStageElems;
    bf16* vs = ks + kTile * kKvLd;
#pragma unroll
    for (int i = tid; i < kTile * (kD / 8); i += kThreads) {
      const int r = i / (kD / 8), c = (i % (kD / 8)) * 8;
      const bool valid = p0 + r < end;
      const int64_t pos = valid ? p0 + r : start;
      cp_async16(ks + r * kKvLd + c, kbase + pos * kD + c, valid);
      cp_async16(vs + r * kKvLd + c, vbase + pos * kD + c, valid);
    }
  };

  // Start the pipeline first: the Q and O set-up below hides under the first loads.
#pragma unroll
  for (int st = 0; st < kStages - 1; ++st) {
    if (st < n_tiles) issue(st, st);
    cp_async_commit();
  }
  const bf16* q_row = qkv + int64_t(b) * ld_qkv + int64_t(kh) * group * kD;  // T = 1: row b
  for (int i = tid; i < kRows * kD; i += kThreads) {
    const int r = i / kD, c = i % kD;
    q_s[r * kKvLd + c] = r < group ? q_row[r * kD + c] : __float2bfloat16(0.f);
  }
  for (int i = tid; i < kRows * kOLd; i += kThreads) o_s[i] = 0.f;
  __syncthreads();
  wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> qf[kD / 16];
  if (warp < 2) {
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) wmma::load_matrix_sync(qf[kk], q_s + kk * 16, kKvLd);
  }

  const int row = tid / 8, sub = tid % 8;  // softmax: 8 threads per q-head row, 4 columns each
  float m_run = -INFINITY, l_run = 0.f;    // log2 domain
  for (int t = 0; t < n_tiles; ++t) {
    cp_async_wait<kStages - 2>();
    __syncthreads();  // tile t landed for every thread; stage (t-1) % kStages is free again
    if (t + kStages - 1 < n_tiles) issue(t + kStages - 1, (t + kStages - 1) % kStages);
    cp_async_commit();  // possibly empty: keeps the group count uniform
    const bf16* ks = kv_s + (t % kStages) * kKvStageElems;
    const bf16* vs = ks + kTile * kKvLd;

    if (warp < 2) {  // S[16 heads x 32 positions] = Q K^T; warp w takes positions 16w..16w+15
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> sf;
      wmma::fill_fragment(sf, 0.f);
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> kf;  // K^T: (dim, pos)
        wmma::load_matrix_sync(kf, ks + warp * 16 * kKvLd + kk * 16, kKvLd);
        wmma::mma_sync(sf, qf[kk], kf, sf);
      }
      wmma::store_matrix_sync(s_s + warp * 16, sf, kSLd, wmma::mem_row_major);
    }
    __syncthreads();

    const int64_t p0 = start + int64_t(t) * kTile;
    float sv[4], tmax = -INFINITY;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int col = sub * 4 + j;
      sv[j] = p0 + col < end ? s_s[row * kSLd + col] * scale_log2 : -INFINITY;
      tmax = fmaxf(tmax, sv[j]);
    }
#pragma unroll
    for (int off = 4; off > 0; off >>= 1) tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, off));
    const float m_new = fmaxf(m_run, tmax);  // finite: every tile has a valid position
    const float alpha = exp2f(m_run - m_new);
    float psum = 0.f;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const bf16 p = __float2bfloat16(exp2f(sv[j] - m_new));
      p_s[row * kPLd + sub * 4 + j] = p;
      psum += __bfloat162float(p);  // sum what the MMA multiplies, so the normalisation matches
    }
#pragma unroll
    for (int off = 4; off > 0; off >>= 1) psum += __shfl_xor_sync(0xffffffffu, psum, off);
    l_run = l_run * alpha + psum;
    m_run = m_new;
#pragma unroll
    for (int j = 0; j < 16; ++j) o_s[row * kOLd + sub * 16 + j] *= alpha;
    __syncthreads();

    // O[16 x 128] += P[16 x 32] V[32 x 128]; warp w owns columns 32w..32w+31.
#pragma unroll
    for (int f = 0; f < 2; ++f) {
      const int c0 = warp * 32 + f * 16;
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> of;
      wmma::load_matrix_sync(of, o_s + c0, kOLd, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < kTile / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> pf;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> vf;
        wmma::load_matrix_sync(pf, p_s + kk * 16, kPLd);
        wmma::load_matrix_sync(vf, vs + kk * 16 * kKvLd + c0, kKvLd);
        wmma::mma_sync(of, pf, vf, of);
      }
      wmma::store_matrix_sync(o_s + c0, of, kOLd, wmma::mem_row_major);
    }
  }
  cp_async_wait<0>();
  __syncthreads();

  if (row < group) {
    const int h = kh * group + row;
    const float* o = o_s + row * kOLd + sub * 16;
    if (splits == 1) {
      const float inv = 1.f / l_run;
      bf16* dst = out + int64_t(b) * ld_out + int64_t(h) * kD + sub * 16;
#pragma unroll
      for (int j = 0; j < 16; ++j) dst[j] = __float2bfloat16(o[j] * inv);
    } else {
      const int64_t idx = (int64_t(b) * qh + h) * splits + split;
#pragma unroll
      for (int j = 0; j < 16; ++j) ws_o[idx * kD + sub * 16 + j] = o[j];
      if (sub == 0) {
        ws_m[idx] = m_run;
        ws_l[idx] = l_run;
      }
    }
  }
}

// out = sum_s 2^(m_s - M) O_s / sum_s 2^(m_s - M) l_s, one CTA per (q head, sequence), thread = dim.
__global__ void __launch_bounds__(kD)
attention_combine_kernel(const float* __restrict__ ws_o, const float* __restrict__ ws_m,
                         const float* __restrict__ ws_l, int splits, int qh, bf16* __restrict__ out,
                         int64_t ld_out) {
  const int h = blockIdx.x, b = blockIdx.y, c = threadIdx.x;
  const int64_t base = (int64_t(b) * qh + h) * splits;
  float mx = -INFINITY;
  for (int s = 0; s < splits; ++s) mx = fmaxf(mx, ws_m[base + s]);
  float num = 0.f, den = 0.f;
  for (int s = 0; s < splits; ++s) {
    const float w = exp2f(ws_m[base + s] - mx);
    num += w * ws_o[(base + s) * kD + c];
    den += w * ws_l[base + s];
  }
  out[int64_t(b) * ld_out + int64_t(h) * kD + c] = __float2bfloat16(num / den);
}

}  // namespace

namespace detail {

cudaError_t launch_attention_split(const DecodeAttentionArgs& a, const AttentionSplitPlan& p, float* workspace,
                                   cudaStream_t s) {
  const AttentionDims& d = a.dims;
  if (d.head_dim != kD || !attention_uses_split_path(d)) return cudaErrorInvalidValue;
  if (p.splits > 1 && workspace == nullptr) return cudaErrorInvalidValue;
  // Above 48 KB of dynamic shared memory a kernel must opt in (per device, idempotent, not a stream
  // operation: safe during graph capture).
  cudaError_t e = cudaFuncSetAttribute(attention_split_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       int(kSmemBytes));
  if (e != cudaSuccess) return e;
  // The split plan counts on 2 CTAs (2 x 86 KB) per SM: ask for the largest shared-memory carveout.
  e = cudaFuncSetAttribute(attention_split_kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                           int(cudaSharedmemCarveoutMaxShared));
  if (e != cudaSuccess) return e;
  float* ws_o = workspace;
  float* ws_m = p.splits > 1 ? workspace + attention_workspace_max_offset(d, p.splits) : nullptr;
  float* ws_l = p.splits > 1 ? workspace + attention_workspace_sum_offset(d, p.splits) : nullptr;
  const int64_t stride = a.cache_positions > 0 ? a.cache_positions : d.context();
  const float scale_log2 = 1.4426950408889634f / std::sqrt(float(kD));
  const dim3 grid(unsigned(p.splits), unsigned(d.kv_heads), unsigned(d.batch));
  attention_split_kernel<<<grid, kThreads, kSmemBytes, s>>>(
      a.qkv, a.ld_qkv, a.k_cache, a.v_cache, a.cache_seq0, stride, d.context(), int(d.q_heads), int(d.kv_heads),
      p.positions_per_split, int(p.splits), a.out, a.ld_out, ws_o, ws_m, ws_l, scale_log2);
  if ((e = cudaGetLastError()) != cudaSuccess || p.splits == 1) return e;
  attention_combine_kernel<<<dim3(unsigned(d.q_heads), unsigned(d.batch)), kD, 0, s>>>(
      ws_o, ws_m, ws_l, int(p.splits), int(d.q_heads), a.out, a.ld_out);
  return cudaGetLastError();
}

}  // namespace detail
}  // namespace tpbench::kernels
