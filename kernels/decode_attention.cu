// Decode attention: the public entry point, the K/V append and the simple (prefill / fallback)
// kernel. The flash-decoding split kernel and its combine live in decode_attention_split.cu.
//
// Targets, printed as ratios by bench/decode_attention.cu, NOT asserted and NOT yet
// verified on hardware (this code was compiled for sm_90 on a machine without a GPU and has
// never run): decode attention >= 85 % of the measured HBM read bandwidth at a 10k context.
#include <cmath>

#include "kernels/decode_attention.cuh"

namespace tpbench::kernels {
namespace {

int64_t cache_stride(const DecodeAttentionArgs& a) {
  return a.cache_positions > 0 ? a.cache_positions : a.dims.context();
}

// K/V element reads and writes by cache type: BF16 as is, E4M3 at the cache's scale.
__device__ __forceinline__ float load_kv(const __nv_bfloat16* p, float) { return __bfloat162float(*p); }
__device__ __forceinline__ float load_kv(const __nv_fp8_e4m3* p, float scale) { return float(*p) * scale; }
__device__ __forceinline__ void store_kv(__nv_bfloat16* p, __nv_bfloat16 x, float) { *p = x; }
__device__ __forceinline__ void store_kv(__nv_fp8_e4m3* p, __nv_bfloat16 x, float scale) {
  *p = __nv_fp8_e4m3(__bfloat162float(x) / scale);  // nearest even, saturating (fp8::quantize)
}

// One thread per element: the appended rows are tiny (batch x T x kv_heads x head_dim).
template <typename KV>
__global__ void kv_append_kernel(const __nv_bfloat16* __restrict__ qkv, int64_t ld_qkv, KV* __restrict__ kc,
                                 KV* __restrict__ vc, float kv_scale, int64_t cache_seq0, int64_t S, int64_t T,
                                 int64_t prior, int64_t qh, int64_t kvh, int64_t d, int64_t total) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t c = i % d, h = (i / d) % kvh, row = i / (d * kvh);  // row = b*T + t
    const int64_t b = row / T, t = row % T;
    const __nv_bfloat16* src = qkv + row * ld_qkv;
    const int64_t dst = (((cache_seq0 + b) * kvh + h) * S + prior + t) * d + c;
    store_kv(kc + dst, src[qh * d + h * d + c], kv_scale);
    store_kv(vc + dst, src[(qh + kvh) * d + h * d + c], kv_scale);
  }
}

// Simple correct kernel for any T (causal) and head_dim = 32 * DPL: one CTA per (q head, token,
// sequence); each of the 4 warps takes every 4th visible position with its own online softmax
// (lane holds DPL dims of q, the accumulator and the K/V row), then the warps merge in shared
// memory. K/V are re-read once per q head of a group: acceptable for prefill chunks, which are
// compute-heavy anyway, and for the small test models.
constexpr int kSimpleWarps = 4;

template <int DPL, typename KV>
__global__ void __launch_bounds__(kSimpleWarps * 32)
attention_simple_kernel(const __nv_bfloat16* __restrict__ qkv, int64_t ld_qkv, const KV* __restrict__ kc,
                        const KV* __restrict__ vc, float kv_scale, int64_t cache_seq0, int64_t S, int64_t T,
                        int64_t prior, int64_t qh, int64_t kvh, __nv_bfloat16* __restrict__ out, int64_t ld_out,
                        float scale) {
  constexpr int D = DPL * 32;
  const int h = blockIdx.x, t = blockIdx.y, b = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t row = int64_t(b) * T + t;
  const int64_t kh = h / (qh / kvh);
  const int64_t visible = prior + t + 1;
  const KV* kbase = kc + ((cache_seq0 + b) * kvh + kh) * S * D;
  const KV* vbase = vc + ((cache_seq0 + b) * kvh + kh) * S * D;

  float q[DPL], acc[DPL];
#pragma unroll
  for (int i = 0; i < DPL; ++i) {
    q[i] = __bfloat162float(qkv[row * ld_qkv + int64_t(h) * D + lane * DPL + i]);
    acc[i] = 0.f;
  }
  float m = -INFINITY, l = 0.f;
  for (int64_t p = warp; p < visible; p += kSimpleWarps) {
    const KV* k = kbase + p * D + lane * DPL;
    float dot = 0.f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) dot += q[i] * load_kv(k + i, kv_scale);
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, off);
    const float s = dot * scale;
    const float m_new = fmaxf(m, s);
    const float corr = expf(m - m_new);  // 0 on the first position (m = -inf)
    const float e = expf(s - m_new);
    l = l * corr + e;
    const KV* v = vbase + p * D + lane * DPL;
#pragma unroll
    for (int i = 0; i < DPL; ++i) acc[i] = acc[i] * corr + e * load_kv(v + i, kv_scale);
    m = m_new;
  }

  __shared__ float sm_m[kSimpleWarps], sm_l[kSimpleWarps];
  __shared__ float sm_acc[kSimpleWarps][D];
  if (lane == 0) { sm_m[warp] = m; sm_l[warp] = l; }
#pragma unroll
  for (int i = 0; i < DPL; ++i) sm_acc[warp][lane * DPL + i] = acc[i];
  __syncthreads();
  float mx = -INFINITY;
  for (int w = 0; w < kSimpleWarps; ++w) mx = fmaxf(mx, sm_m[w]);  // finite: warp 0 sees position 0
  for (int c = threadIdx.x; c < D; c += blockDim.x) {
    float num = 0.f, den = 0.f;
    for (int w = 0; w < kSimpleWarps; ++w) {
      const float wt = sm_l[w] > 0.f ? expf(sm_m[w] - mx) : 0.f;  // a warp with no position has l = 0
      num += wt * sm_acc[w][c];
      den += wt * sm_l[w];
    }
    out[row * ld_out + int64_t(h) * D + c] = __float2bfloat16(num / den);
  }
}

template <int DPL>
cudaError_t launch_simple_dpl(const DecodeAttentionArgs& a, cudaStream_t s) {
  const AttentionDims& d = a.dims;
  const dim3 grid(unsigned(d.q_heads), unsigned(d.new_tokens), unsigned(d.batch));
  const float scale = 1.0f / std::sqrt(float(d.head_dim));
  if (d.kv_fp8)
    attention_simple_kernel<DPL><<<grid, kSimpleWarps * 32, 0, s>>>(
        a.qkv, a.ld_qkv, a.k_cache_fp8, a.v_cache_fp8, a.kv_scale, a.cache_seq0, cache_stride(a), d.new_tokens,
        d.prior, d.q_heads, d.kv_heads, a.out, a.ld_out, scale);
  else
    attention_simple_kernel<DPL><<<grid, kSimpleWarps * 32, 0, s>>>(
        a.qkv, a.ld_qkv, a.k_cache, a.v_cache, 1.0f, a.cache_seq0, cache_stride(a), d.new_tokens, d.prior,
        d.q_heads, d.kv_heads, a.out, a.ld_out, scale);
  return cudaGetLastError();
}

bool args_valid(const DecodeAttentionArgs& a) {
  const AttentionDims& d = a.dims;
  if (!decode_attention_supported(d)) return false;
  const bool caches = d.kv_fp8 ? a.k_cache_fp8 && a.v_cache_fp8 && !a.k_cache && !a.v_cache && a.kv_scale > 0
                               : a.k_cache && a.v_cache && !a.k_cache_fp8 && !a.v_cache_fp8;
  if (!a.qkv || !caches || !a.out || a.cache_seq0 < 0) return false;
  if (a.ld_qkv < (d.q_heads + 2 * d.kv_heads) * d.head_dim || a.ld_out < d.q_heads * d.head_dim) return false;
  if (a.cache_positions != 0 && a.cache_positions < d.context()) return false;
  const auto aligned16 = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  return d.kv_fp8 ? aligned16(a.k_cache_fp8) && aligned16(a.v_cache_fp8) : aligned16(a.k_cache) && aligned16(a.v_cache);
}

}  // namespace

namespace detail {

cudaError_t current_sm_count(int* sm_count) {
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e != cudaSuccess) return e;
  return cudaDeviceGetAttribute(sm_count, cudaDevAttrMultiProcessorCount, dev);
}

cudaError_t launch_kv_append(const DecodeAttentionArgs& a, cudaStream_t s) {
  const AttentionDims& d = a.dims;
  const int64_t total = d.batch * d.new_tokens * d.kv_heads * d.head_dim;
  const int threads = 256;
  const int64_t blocks = std::min<int64_t>(ceil_div(total, threads), 4096);
  if (d.kv_fp8)
    kv_append_kernel<<<unsigned(blocks), threads, 0, s>>>(a.qkv, a.ld_qkv, a.k_cache_fp8, a.v_cache_fp8, a.kv_scale,
                                                          a.cache_seq0, cache_stride(a), d.new_tokens, d.prior,
                                                          d.q_heads, d.kv_heads, d.head_dim, total);
  else
    kv_append_kernel<<<unsigned(blocks), threads, 0, s>>>(a.qkv, a.ld_qkv, a.k_cache, a.v_cache, 1.0f, a.cache_seq0,
                                                          cache_stride(a), d.new_tokens, d.prior, d.q_heads,
                                                          d.kv_heads, d.head_dim, total);
  return cudaGetLastError();
}

cudaError_t launch_attention_simple(const DecodeAttentionArgs& a, cudaStream_t s) {
  switch (a.dims.head_dim) {
    case 32: return launch_simple_dpl<1>(a, s);
    case 64: return launch_simple_dpl<2>(a, s);
    case 96: return launch_simple_dpl<3>(a, s);
    case 128: return launch_simple_dpl<4>(a, s);
    case 160: return launch_simple_dpl<5>(a, s);
    case 192: return launch_simple_dpl<6>(a, s);
    case 224: return launch_simple_dpl<7>(a, s);
    case 256: return launch_simple_dpl<8>(a, s);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace detail

bool decode_attention_supported(const AttentionDims& d) {
  return d.batch >= 1 && d.batch <= 65535 && d.new_tokens >= 1 && d.new_tokens <= 65535 && d.prior >= 0 &&
         d.kv_heads >= 1 && d.kv_heads <= 65535 && d.q_heads >= d.kv_heads && d.q_heads % d.kv_heads == 0 && d.head_dim % 32 == 0 &&
         d.head_dim >= 32 && d.head_dim <= 256;
}

cudaError_t decode_attention_plan(const AttentionDims& dims, AttentionSplitPlan* plan) {
  if (!plan || !decode_attention_supported(dims)) return cudaErrorInvalidValue;
  int sms = 0;
  const cudaError_t e = detail::current_sm_count(&sms);
  if (e != cudaSuccess) return e;
  *plan = attention_uses_split_path(dims) ? attention_split_plan(dims, sms) : AttentionSplitPlan{};
  return cudaSuccess;
}

size_t decode_attention_workspace_bytes(const AttentionDims& dims) {
  if (!decode_attention_supported(dims) || !attention_uses_split_path(dims)) return 0;
  int sms = 0;
  if (detail::current_sm_count(&sms) != cudaSuccess) return 0;
  return attention_workspace_bytes(dims, sms);
}

cudaError_t decode_attention(const DecodeAttentionArgs& args, void* workspace, size_t workspace_bytes,
                             cudaStream_t stream) {
  if (!args_valid(args)) return cudaErrorInvalidValue;
  // Everything that can refuse the call is checked before the K/V append is queued: a refused
  // call leaves the caches as they were.
  const bool split = attention_uses_split_path(args.dims);
  AttentionSplitPlan plan;
  cudaError_t e = cudaSuccess;
  if (split) {
    int sms = 0;
    if ((e = detail::current_sm_count(&sms)) != cudaSuccess) return e;
    plan = attention_split_plan(args.dims, sms);
    const size_t need = attention_workspace_bytes(args.dims, sms);
    if (need > 0 &&
        (workspace == nullptr || workspace_bytes < need || reinterpret_cast<uintptr_t>(workspace) % 256 != 0))
      return cudaErrorInvalidValue;
  }
  if ((e = detail::launch_kv_append(args, stream)) != cudaSuccess) return e;
  if (!split) return detail::launch_attention_simple(args, stream);
  return detail::launch_attention_split(args, plan, static_cast<float*>(workspace), stream);
}

}  // namespace tpbench::kernels
