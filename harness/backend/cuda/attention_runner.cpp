#include "harness/backend/cuda/attention_runner.hpp"

#include <algorithm>
#include <stdexcept>

#include "harness/backend/cuda/op_launch.hpp"
#include "harness/measure/stats.hpp"
#include "kernels/detail/cuda_check.hpp"
#include "kernels/detail/fp8_e4m3.hpp"
#include "kernels/detail/event_timer.hpp"

namespace tpbench::cuda {

namespace {
// Grows `b` to at least `bytes` (never shrinks: one workspace serves every shape in turn).
void grow(DeviceBuffer& b, size_t bytes) {
  if (bytes > b.bytes()) b = DeviceBuffer(bytes);
}
}  // namespace

kernels::DecodeAttentionArgs attention_args(const Op& op, const std::vector<__nv_bfloat16*>& buffers) {
  kernels::DecodeAttentionArgs a;
  a.dims = attention_dims(op.attn);
  a.qkv = buffers[op.a.buffer] + op.a.offset;
  a.ld_qkv = op.a.ld;
  if (op.attn.kv_dtype == DType::FP8E4M3) {  // the buffers hold E4M3 bytes (CudaRank::allocate_buffer)
    a.k_cache_fp8 = reinterpret_cast<__nv_fp8_e4m3*>(buffers[op.k_cache]);
    a.v_cache_fp8 = reinterpret_cast<__nv_fp8_e4m3*>(buffers[op.v_cache]);
    a.kv_scale = fp8::kActivationScale;
  } else {
    a.k_cache = buffers[op.k_cache];
    a.v_cache = buffers[op.v_cache];
  }
  a.cache_seq0 = op.attn.cache_seq0;
  a.cache_positions = op.attn.prior + op.attn.new_tokens;
  a.out = buffers[op.out.buffer] + op.out.offset;
  a.ld_out = op.out.ld;
  return a;
}

AttentionRunner::AttentionRunner() : status_(kernels::cudnn_attention_status()) {
  if (status_.usable) library_ = std::make_unique<kernels::CudnnAttention>();
}

AttentionRunner::Key AttentionRunner::key_of(const AttentionShape& s) {
  return {s.batch, s.new_tokens, s.prior, s.q_heads, s.kv_heads, s.head_dim};
}

void AttentionRunner::launch(AttentionKernel k, const kernels::DecodeAttentionArgs& args, cudaStream_t s) {
  if (k == AttentionKernel::Library) {
    if (args.dims.kv_fp8) throw std::logic_error("the attention library was chosen for an FP8 KV cache");
    TPBENCH_CUDA_CHECK(kernels::detail::launch_kv_append(args, s));
    library_->run(args, library_ws_.get(), library_ws_.bytes(), s);
    return;
  }
  if (k == AttentionKernel::None) throw std::logic_error("attention op without a kernel");
  TPBENCH_CUDA_CHECK(kernels::decode_attention(args, own_ws_.get(), own_ws_.bytes(), s));
}

// Median of 6 event-timed runs after 2 warm-ups each way, from a flushed L2. Both kernels append
// the same K/V and write the same output, so the step's buffers stay as they were.
AttentionRunner::Choice AttentionRunner::decide(const AttentionShape& shape, const kernels::DecodeAttentionArgs& args,
                                                cudaStream_t s, kernels::L2Flush* flush) {
  Choice c;
  const AttentionKernel own = own_attention_kernel(shape);
  auto time_of = [&](AttentionKernel k) {
    return summarize(cuda_detail::event_times(
        s, 2, 6, [&] { if (flush) flush->flush(s); }, [&] { launch(k, args, s); })).median;
  };
  c.own_s = time_of(own);
  c.library_skipped = library_cannot_run(shape);
  if (library_ && !c.library_skipped) {
    try {
      grow(library_ws_, library_->prepare(args));
      c.library_s = time_of(AttentionKernel::Library);
    } catch (const std::runtime_error&) {
      c.library_s.reset();  // no cuDNN engine for this decode shape: the project's kernel runs it
    }
  }
  c.kernel = faster_decode_kernel(own, *c.own_s, c.library_s);
  return c;
}

void AttentionRunner::prepare(const RankProgram& r, const std::vector<__nv_bfloat16*>& buffers, cudaStream_t s,
                              kernels::L2Flush* flush) {
  if (auto why = attention_not_runnable(r, status_.usable, status_.description)) throw std::runtime_error(*why);
  size_t own_bytes = 0;
  for (const Op& op : r.ops)
    if (op.kind == OpKind::Attention && op.attn.new_tokens == 1)
      own_bytes = std::max(own_bytes, kernels::decode_attention_workspace_bytes(attention_dims(op.attn)));
  grow(own_ws_, own_bytes);
  for (const Op& op : r.ops) {
    if (op.kind != OpKind::Attention || choice_.count(key_of(op.attn))) continue;
    const kernels::DecodeAttentionArgs args = attention_args(op, buffers);
    if (op.attn.new_tokens > 1) {
      grow(library_ws_, library_->prepare(args));
      choice_[key_of(op.attn)] = Choice{AttentionKernel::Library, std::nullopt, std::nullopt};
    } else {
      choice_[key_of(op.attn)] = decide(op.attn, args, s, flush);
    }
  }
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(s));
}

void AttentionRunner::run(const Op& op, const kernels::DecodeAttentionArgs& args, cudaStream_t s) {
  const auto it = choice_.find(key_of(op.attn));
  if (it == choice_.end()) throw std::logic_error("attention shape of '" + op.name + "' was not prepared");
  launch(it->second.kernel, args, s);
}

nlohmann::json AttentionRunner::choices() const {
  nlohmann::json j = {{"attention", "none"}, {"attention_library", status_.description}};
  for (const auto& [key, c] : choice_) {
    j["attention"] = attention_kernel_name(c.kernel);
    j["decode_attention_ours_s"] = c.own_s ? nlohmann::json(*c.own_s) : nlohmann::json(nullptr);
    j["decode_attention_library_s"] = c.library_s ? nlohmann::json(*c.library_s) : nlohmann::json(nullptr);
    if (c.library_skipped) j["decode_attention_library_not_tried"] = *c.library_skipped;
  }
  return j;
}

}  // namespace tpbench::cuda
