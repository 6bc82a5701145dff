#pragma once
// Which kernel runs an attention op on the cuda backend, decided on the host before the step.
//   - Prefill chunks (more than one query token) run only on the flash-attention library
//     (cuDNN's SDPA): without it such a point is not runnable, never timed on the project's
//     simple reference kernel, which is an order of magnitude slower than FlashAttention.
//     Nor does a prefill chunk over an FP8 KV cache run as BF16: it is refused with the reason.
//   - Decode (one token) runs the project's kernel (the flash-decoding split kernel where its
//     shape allows, else the simple one) or the library's, whichever measured faster for the
//     shape on an idle device before the step, as the skinny GEMM is chosen against cuBLASLt.
//     Over an FP8 KV cache only the project's simple kernel reads E4M3 (the library's reason is
//     recorded with the kernel choices).
// Host-only: unit-tested without a GPU.
#include <cstdint>
#include <optional>
#include <string>

#include "harness/plan/step_program.hpp"

namespace tpbench {

enum class AttentionKernel { None, Split, Simple, Library };
// "tpbench-split", "tpbench-simple", "cudnn-sdpa", "none" (the point JSON's kernels.attention).
const char* attention_kernel_name(AttentionKernel k);

// The project's own kernel for a decode shape (Split or Simple); None for prefill.
AttentionKernel own_attention_kernel(const AttentionShape& s);

// Whether cuDNN's SDPA takes this head_dim in BF16: a multiple of 8 (cudnn-frontend's own
// check, node/sdpa_support_surface.h: "hidden_dim should be multiple of 8") and at most 256
// (cuDNN's attention support matrix for Hopper prefill and decode, backend 9.18.1:
// docs.nvidia.com/deeplearning/cudnn/frontend/latest/operations/Attention.html).
bool library_supports_head_dim(int64_t head_dim);

// Why the library (cuDNN's SDPA, as the cuda backend builds its graph: BF16 Q, K, V and output)
// cannot run an attention of this shape whatever the device (an FP8 KV cache, a head_dim it
// does not take), or nothing.
std::optional<std::string> library_cannot_run(const AttentionShape& s);

// Why `r` cannot run its attention here: a prefill chunk the library cannot take
// (library_cannot_run) or while it is unusable (`library_why_not` says why); nullopt when it can.
std::optional<std::string> attention_not_runnable(const RankProgram& r, bool library_usable,
                                                  const std::string& library_why_not);

// The decode kernel to use from the two medians; the library only when it measured faster.
AttentionKernel faster_decode_kernel(AttentionKernel own, double own_s, std::optional<double> library_s);

}  // namespace tpbench
