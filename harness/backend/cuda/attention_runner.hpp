#pragma once
// The attention ops of one rank: the K/V append (kernels/decode_attention.cuh), then attention on
// the kernel chosen for the shape before the step (harness/backend/attention_choice.hpp):
// prefill chunks on cuDNN's SDPA, decode on the faster of the project's kernel and cuDNN's as
// timed on an idle device in prepare(). Owns the cuDNN handle and both workspaces.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/backend/attention_choice.hpp"
#include "harness/backend/cuda/device_resources.hpp"
#include "kernels/cudnn_attention.hpp"
#include "kernels/decode_attention.cuh"
#include "kernels/l2_flush.cuh"

namespace tpbench::cuda {

class AttentionRunner {
 public:
  // An attention shape: batch, new tokens, prior positions, q heads, kv heads, head_dim.
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

  // Uses the library on the current device when it is usable. When its handle cannot be
  // created (no libcudnn that works with this driver or device) the library is treated as
  // absent, with cudnnCreate's error as the reason: decode runs on the project's kernel and
  // prefill is not runnable.
  AttentionRunner();

  // On an idle device, before any step: plans every attention op of `r` (whose buffers are
  // `buffers`, already initialised) on the library, sizes the workspaces, and times each decode
  // shape both ways (L2 flushed before each run) unless this process timed the shape on this
  // device before (harness/backend/choice_cache.hpp). A candidate that fails to run is skipped
  // (harness/backend/kernel_choice.hpp). Throws NotRunnableError when a prefill op cannot run
  // (no library, or no cuDNN engine for its shape: an unsupported head_dim, say).
  void prepare(const RankProgram& r, const std::vector<__nv_bfloat16*>& buffers, cudaStream_t s,
               kernels::L2Flush* flush);
  // Appends K/V and runs the chosen kernel for the op's shape (capturable).
  void run(const Op& op, const kernels::DecodeAttentionArgs& args, cudaStream_t s);
  // {"attention": name, "attention_library": ..., "decode_attention_ours_s", "..._library_s",
  // "decode_attention_library_not_tried": why, where the library cannot take the shape}
  // for the program's attention ops (the last shape's times; every layer has the same shape).
  nlohmann::json choices() const;

 private:
  struct Choice {
    AttentionKernel kernel = AttentionKernel::None;
    std::optional<double> own_s, library_s;
    std::string skipped;  // a candidate that could not run, and why ("" when none)
    bool timed = true;    // false: this process's earlier choice for the shape on this device
    std::optional<std::string> library_skipped;  // why the library was not timed (library_cannot_run)
  };
  static Key key_of(const AttentionShape& s);
  void launch(AttentionKernel k, const kernels::DecodeAttentionArgs& args, cudaStream_t s);
  Choice decide(const AttentionShape& shape, const kernels::DecodeAttentionArgs& args, cudaStream_t s,
                kernels::L2Flush* flush);
  Choice decode_choice(const AttentionShape& shape, const kernels::DecodeAttentionArgs& args, cudaStream_t s,
                       kernels::L2Flush* flush);

  int device_ = 0;
  kernels::LibraryStatus status_;
  std::unique_ptr<kernels::CudnnAttention> library_;
  DeviceBuffer own_ws_, library_ws_;
  std::map<Key, Choice> choice_;
};

// The arguments of an attention op over a rank's device buffers.
kernels::DecodeAttentionArgs attention_args(const Op& op, const std::vector<__nv_bfloat16*>& buffers);

}  // namespace tpbench::cuda
