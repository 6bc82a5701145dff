#include "harness/backend/attention_choice.hpp"

#include "kernels/reference_ops.hpp"

namespace tpbench {

const char* attention_kernel_name(AttentionKernel k) {
  switch (k) {
    case AttentionKernel::Split: return "tpbench-split";
    case AttentionKernel::Simple: return "tpbench-simple";
    case AttentionKernel::Library: return "cudnn-sdpa";
    case AttentionKernel::None: break;
  }
  return "none";
}

AttentionKernel own_attention_kernel(const AttentionShape& s) {
  if (s.new_tokens != 1) return AttentionKernel::None;
  kernels::AttentionDims d;
  d.batch = s.batch;
  d.new_tokens = s.new_tokens;
  d.prior = s.prior;
  d.q_heads = s.q_heads;
  d.kv_heads = s.kv_heads;
  d.head_dim = s.head_dim;
  d.kv_fp8 = s.kv_dtype == DType::FP8E4M3;
  return kernels::attention_uses_split_path(d) ? AttentionKernel::Split : AttentionKernel::Simple;
}

bool library_supports_head_dim(int64_t head_dim) { return head_dim > 0 && head_dim % 8 == 0 && head_dim <= 256; }

std::optional<std::string> library_cannot_run(const AttentionShape& s) {
  if (s.kv_dtype == DType::FP8E4M3)
    return std::string("the BF16 cuDNN SDPA graph the cuda backend builds cannot read an FP8 (E4M3) K/V cache, and "
                       "cuDNN's FP8 SDPA takes Q, K and V all in FP8 where this step's queries are BF16");
  if (!library_supports_head_dim(s.head_dim))
    return "cuDNN's SDPA takes head_dim in multiples of 8 up to 256, not " + std::to_string(s.head_dim);
  return std::nullopt;
}

std::optional<std::string> attention_not_runnable(const RankProgram& r, bool library_usable,
                                                  const std::string& library_why_not) {
  for (const Op& op : r.ops) {
    if (op.kind != OpKind::Attention || op.attn.new_tokens <= 1) continue;
    const std::string what = "prefill attention (" + std::to_string(op.attn.new_tokens) +
                             " query tokens per sequence) runs only on cuDNN's flash attention here";
    if (auto why = library_cannot_run(op.attn)) return what + ", and " + *why;
    if (!library_usable) return what + ": " + library_why_not;
  }
  return std::nullopt;
}

AttentionKernel faster_decode_kernel(AttentionKernel own, double own_s, std::optional<double> library_s) {
  return library_s && *library_s < own_s ? AttentionKernel::Library : own;
}

}  // namespace tpbench
