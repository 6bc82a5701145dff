#pragma once
// BF16 attention over a KV cache with grouped-query heads: decode (T = 1, flash-decoding split
// along the context) and prefill chunks (T > 1, causal, a simpler kernel). Same layout and
// semantics as the CPU backend's attention_reference (harness/backend/detail/cpu_ops.cpp):
//   - qkv rows: row b*T + t holds [q heads | k heads | v heads] x head_dim, leading dim ld_qkv;
//   - caches: [cache_seq0 + b][kv_head][position][head_dim], cache_positions positions per head;
//   - this step's K and V are first written to positions prior .. prior+T-1;
//   - token t of sequence b sees positions 0 .. prior+t; q head h reads KV head h / (q/kv);
//   - out row b*T + t, columns h*head_dim.., leading dim ld_out; softmax scale 1/sqrt(head_dim).
// An FP8 cache (k_cache_fp8 / v_cache_fp8 instead of k_cache / v_cache, dims.kv_fp8) holds
// E4M3(x / kv_scale): the append quantizes (nearest even, saturating), the attention reads
// e4m3 x kv_scale, as the CPU backend does (kernels/detail/fp8_e4m3.hpp). Only the simple kernel
// reads it (attention_uses_split_path is false for it).
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/reference_ops.hpp"

namespace tpbench::kernels {

struct DecodeAttentionArgs {
  AttentionDims dims;                  // batch, new_tokens (T), prior, q_heads, kv_heads, head_dim
  const __nv_bfloat16* qkv = nullptr;  // (batch*T) rows
  int64_t ld_qkv = 0;                  // >= (q_heads + 2*kv_heads) * head_dim
  __nv_bfloat16* k_cache = nullptr;    // both caches: same layout, 16-byte aligned
  __nv_bfloat16* v_cache = nullptr;
  __nv_fp8_e4m3* k_cache_fp8 = nullptr;  // dims.kv_fp8: the caches instead, one scale for both
  __nv_fp8_e4m3* v_cache_fp8 = nullptr;
  float kv_scale = 1.0f;
  int64_t cache_seq0 = 0;              // first cache sequence this call covers
  int64_t cache_positions = 0;         // position stride per (seq, kv head); 0 means prior + T
  __nv_bfloat16* out = nullptr;        // (batch*T) rows of q_heads*head_dim
  int64_t ld_out = 0;
};

// head_dim must be a multiple of 32 and at most 256; the fast split path needs head_dim 128,
// T = 1 and at most 16 q heads per KV head (attention_uses_split_path).
bool decode_attention_supported(const AttentionDims& dims);

// Workspace for `dims` on the current device (its SM count decides the split count); 0 when no
// workspace is needed. Pass at least this many bytes (256-byte aligned pointer) to
// decode_attention on the same device; no initialisation is needed and the workspace may be
// reused by the next call once this one is done (stream order).
size_t decode_attention_workspace_bytes(const AttentionDims& dims);

// Appends K/V, then computes attention; all work is queued on `stream` (graph-capturable).
// Returns cudaErrorInvalidValue for unsupported shapes, a too-small workspace or misaligned
// caches, and the launch error otherwise.
cudaError_t decode_attention(const DecodeAttentionArgs& args, void* workspace, size_t workspace_bytes,
                             cudaStream_t stream);

// The split count and CTA count the call would use on the current device (for benchmarks/logs).
cudaError_t decode_attention_plan(const AttentionDims& dims, AttentionSplitPlan* plan);

namespace detail {
// Launchers of the individual kernels (decode_attention.cu, decode_attention_split.cu).
cudaError_t launch_kv_append(const DecodeAttentionArgs& a, cudaStream_t s);
cudaError_t launch_attention_simple(const DecodeAttentionArgs& a, cudaStream_t s);
cudaError_t launch_attention_split(const DecodeAttentionArgs& a, const AttentionSplitPlan& p, float* workspace,
                                   cudaStream_t s);
cudaError_t current_sm_count(int* sm_count);
}  // namespace detail

}  // namespace tpbench::kernels
