#pragma once
// Attention from a maintained flash-attention library: cuDNN's fused SDPA (scaled dot-product
// attention) through the header-only cudnn-frontend, over exactly the layout of
// kernels/decode_attention.cuh (qkv rows [q | k | v] x head_dim, per-sequence KV caches,
// causal from position prior + t). Prefill chunks (T > 1) run only here: the project's simple
// kernel is a correctness reference, an order of magnitude slower than FlashAttention. Decode
// (T = 1) can run here too, and the cuda backend times it against the split kernel per shape.
//
// Built only where CMake found cuDNN >= 9 and the cudnn-frontend headers (cmake/TpbenchCudnn.cmake);
// elsewhere cudnn_attention_status() says why and CudnnAttention cannot be constructed.
// Header usable from C++17 (.cu) and C++20 (.cpp); no cuDNN header leaks out of it.
#include <cuda_runtime.h>

#include <cstddef>
#include <memory>
#include <string>

#include "kernels/decode_attention.cuh"

namespace tpbench::kernels {

struct LibraryStatus {
  bool usable = false;
  std::string description;  // usable: "cuDNN 9.19.0, cudnn-frontend 1.32.0"; else why not
};

// Whether this build has cuDNN's SDPA and libcudnn answers on this machine (no device needed).
LibraryStatus cudnn_attention_status();

class CudnnAttention {
 public:
  // Uses the current device's cuDNN handle, created on first use and shared by the process
  // (as are the plans: built once per device and layout). Throws std::runtime_error when the
  // library is not usable (cudnn_attention_status().description) or cudnnCreate fails.
  CudnnAttention();
  ~CudnnAttention();
  CudnnAttention(const CudnnAttention&) = delete;
  CudnnAttention& operator=(const CudnnAttention&) = delete;

  // Builds (once per device, shape and layout in the process) the execution plan for `layout`'s dims, leading
  // dimensions and cache stride, and returns the workspace its run() needs. Throws
  // std::runtime_error with cuDNN's reason when no engine supports the shape.
  size_t prepare(const DecodeAttentionArgs& layout);
  // Attention only: this step's K/V must already be in the caches (detail::launch_kv_append).
  // Enqueued on `stream`, graph-capturable. prepare() must have seen the shape; throws
  // std::runtime_error on failure.
  void run(const DecodeAttentionArgs& args, void* workspace, size_t workspace_bytes, cudaStream_t stream);
  // Plans in the current device's process-wide cache (0 in a build without cuDNN).
  static size_t plans_built_on_this_device();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tpbench::kernels
