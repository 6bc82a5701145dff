#include "harness/backend/cuda/attention_runner.hpp"

#include <algorithm>
#include <stdexcept>

#include "harness/backend/choice_cache.hpp"
#include "harness/backend/cuda/op_launch.hpp"
#include "harness/backend/kernel_choice.hpp"
#include "harness/common/error.hpp"
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
  TPBENCH_CUDA_CHECK(cudaGetDevice(&device_));
  if (!status_.usable) return;
  try {
    library_ = std::make_unique<kernels::CudnnAttention>();
  } catch (const std::exception& e) {
    status_ = {false, std::string("cuDNN is installed but unusable on this device: ") + e.what()};
  }
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

namespace {
// Decode choices per (device, shape), for the whole process.
ChoiceCache<std::pair<int, AttentionRunner::Key>, AttentionKernel>& decode_choices() {
  static ChoiceCache<std::pair<int, AttentionRunner::Key>, AttentionKernel> c;
  return c;
}

// After a candidate failed: clear its (non-sticky) error; a stream that no longer completes
// work means a broken context, which ends the choice.
void recover_stream(cudaStream_t s) {
  (void)cudaGetLastError();
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(s));
}
}  // namespace

// Median of 6 event-timed runs after 2 warm-ups each way, from a flushed L2. Both kernels append
// the same K/V and write the same output, so the step's buffers stay as they were.
AttentionRunner::Choice AttentionRunner::decide(const AttentionShape& shape, const kernels::DecodeAttentionArgs& args,
                                                cudaStream_t s, kernels::L2Flush* flush) {
  const AttentionKernel own = own_attention_kernel(shape);
  auto time_of = [&](AttentionKernel k) {
    return summarize(cuda_detail::event_times(
        s, 2, 6, [&] { if (flush) flush->flush(s); }, [&] { launch(k, args, s); })).median;
  };
  std::vector<KernelCandidate<AttentionKernel>> candidates = {{own, [&] { return time_of(own); }}};
  const std::optional<std::string> cannot = library_cannot_run(shape);
  if (library_ && !cannot)
    candidates.push_back({AttentionKernel::Library, [&] {
                            grow(library_ws_, library_->prepare(args));
                            return time_of(AttentionKernel::Library);
                          }});
  const KernelDecision<AttentionKernel> d = decide_fastest(candidates, [s] { recover_stream(s); });
  Choice c;
  c.kernel = d.kernel;
  c.library_skipped = cannot;
  for (const auto& [k, t] : d.times) (k == AttentionKernel::Library ? c.library_s : c.own_s) = t;
  for (const auto& [k, e] : d.errors) c.skipped += std::string(attention_kernel_name(k)) + ": " + e;
  return c;
}

// A decode shape's kernel: timed here, or the choice this process made for the shape on this
// device before (then only the library's plan is prepared when it is the library).
AttentionRunner::Choice AttentionRunner::decode_choice(const AttentionShape& shape,
                                                       const kernels::DecodeAttentionArgs& args, cudaStream_t s,
                                                       kernels::L2Flush* flush) {
  const auto key = std::make_pair(device_, key_of(shape));
  if (const std::optional<AttentionKernel> known = decode_choices().find(key)) {
    Choice c{own_attention_kernel(shape), {}, {}, {}, false};
    if (*known != AttentionKernel::Library || !library_) return c;
    try {
      grow(library_ws_, library_->prepare(args));
      c.kernel = AttentionKernel::Library;
    } catch (const std::runtime_error& e) {  // this rank's layout has no plan: its own kernel runs
      c.skipped = std::string("cudnn-sdpa: ") + e.what();
    }
    return c;
  }
  Choice c = decide(shape, args, s, flush);
  decode_choices().get_or_make(key, [&] { return c.kernel; });
  return c;
}

void AttentionRunner::prepare(const RankProgram& r, const std::vector<__nv_bfloat16*>& buffers, cudaStream_t s,
                              kernels::L2Flush* flush) {
  if (auto why = attention_not_runnable(r, status_.usable, status_.description)) throw NotRunnableError(*why);
  size_t own_bytes = 0;
  for (const Op& op : r.ops)
    if (op.kind == OpKind::Attention && op.attn.new_tokens == 1)
      own_bytes = std::max(own_bytes, kernels::decode_attention_workspace_bytes(attention_dims(op.attn)));
  grow(own_ws_, own_bytes);
  for (const Op& op : r.ops) {
    if (op.kind != OpKind::Attention || choice_.count(key_of(op.attn))) continue;
    const kernels::DecodeAttentionArgs args = attention_args(op, buffers);
    if (op.attn.new_tokens > 1) {
      try {
        grow(library_ws_, library_->prepare(args));
      } catch (const std::runtime_error& e) {  // the frontend's reason, e.g. "hidden_dim should be multiple of 8"
        throw NotRunnableError("prefill attention (head_dim " + std::to_string(op.attn.head_dim) +
                               "): no cuDNN SDPA engine for this shape: " + e.what());
      }
      choice_[key_of(op.attn)] = Choice{AttentionKernel::Library, std::nullopt, std::nullopt, {}, false};
    } else {
      choice_[key_of(op.attn)] = decode_choice(op.attn, args, s, flush);
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
    j["decode_attention_timed_here"] = c.timed;
    if (!c.skipped.empty()) j["attention_candidate_failed"] = c.skipped;
    if (c.library_skipped) j["decode_attention_library_not_tried"] = *c.library_skipped;
  }
  return j;
}

}  // namespace tpbench::cuda
