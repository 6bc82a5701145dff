// `tpbench calibrate`: decode-attention bandwidth at a 10k context for batch 1..64 and the
// plans' per-rank heads, on the kernel the cuda backend would run for each shape: both of its
// candidates are timed (kernels::decode_attention, split or simple by shape, and cuDNN's SDPA
// where the build has it) and the faster one counts, as in the backend's choice; which one won
// is recorded per point. The roofline charges decode attention K/V bytes / (hbm_bandwidth x
// decode_attention_efficiency), and the ratio measured here is that efficiency. The L2 is
// flushed before every call (a TP=8 batch-1 cache of 5 MB would otherwise stay in the 50 MB L2
// between calls).
#include <algorithm>
#include <cstdio>
#include <optional>

#include "harness/commands/cuda/calibrate_cuda.hpp"
#include "harness/common/error.hpp"
#include "harness/backend/attention_choice.hpp"
#include "kernels/cudnn_attention.hpp"
#include "kernels/decode_attention.cuh"
#include "kernels/l2_flush.cuh"
#include "kernels/random_fill.cuh"

namespace tpbench::calibrate {
namespace {

using bf16 = __nv_bfloat16;

void fill(cuda::DeviceBuffer& b, uint64_t stream_id, cudaStream_t s) {
  TPBENCH_CUDA_CHECK(kernels::random_fill_bf16(b.get<bf16>(), int64_t(b.bytes() / 2), 0x6174746e, stream_id, 1.0f,
                                               0.0f, s));
}

// cuDNN's SDPA on the same call (K/V appended first, as the backend does), or nothing when the
// build or device has no cuDNN or it has no engine for the shape.
std::optional<double> library_time(const kernels::DecodeAttentionArgs& args, cudaStream_t s, kernels::L2Flush& flush,
                                   const CalibrateRequest& req) {
  if (!kernels::cudnn_attention_status().usable || !library_supports_head_dim(args.dims.head_dim)) return std::nullopt;
  try {
    kernels::CudnnAttention library;
    cuda::DeviceBuffer ws(library.prepare(args));
    return median(event_times(s, req.warmup, req.iters, [&] { flush.flush(s); }, [&] {
      TPBENCH_CUDA_CHECK(kernels::detail::launch_kv_append(args, s));
      library.run(args, ws.get(), ws.bytes(), s);
    }));
  } catch (const std::runtime_error& e) {
    (void)cudaGetLastError();
    std::fprintf(stderr, "tpbench: calibrate: cuDNN's decode attention not timed for this shape: %s\n", e.what());
    return std::nullopt;
  }
}

}  // namespace

void measure_attention(const CalibrateRequest& req, CalibrateMeasurements& m) {
  if (req.attention_batch.empty()) return;
  cuda::Stream stream;
  const cudaStream_t s = stream.get();
  kernels::L2Flush flush;
  const int64_t ctx = req.attention_context;
  const int64_t max_batch = *std::max_element(req.attention_batch.begin(), req.attention_batch.end());
  for (const CalibrateAttentionHeads& h : req.attention_heads) {
    const int64_t d = h.head_dim;
    const int64_t ld_qkv = (h.q_heads + 2 * h.kv_heads) * d, ld_out = h.q_heads * d;
    // Caches of the largest batch, [seq][kv head][position][d]; a smaller batch uses the
    // leading sequences.
    const size_t cache_bytes = size_t(max_batch * h.kv_heads * ctx * d) * sizeof(bf16);
    if (2.0 * double(cache_bytes) > 0.6 * double(free_device_bytes()))
      throw UnavailableError("calibrate: the decode-attention KV cache (batch " + std::to_string(max_batch) +
                             ", context " + std::to_string(ctx) + ") does not fit in device memory");
    cuda::DeviceBuffer qkv(size_t(max_batch * ld_qkv) * sizeof(bf16)), out(size_t(max_batch * ld_out) * sizeof(bf16));
    cuda::DeviceBuffer kc(cache_bytes), vc(cache_bytes);
    fill(qkv, 1, s);
    fill(kc, 2, s);
    fill(vc, 3, s);
    for (const int64_t batch : req.attention_batch) {
      const kernels::AttentionDims dims{batch, 1, ctx - 1, h.q_heads, h.kv_heads, d};
      if (!kernels::decode_attention_supported(dims))
        throw std::runtime_error("calibrate: decode attention does not support q_heads=" + std::to_string(h.q_heads) +
                                 " kv_heads=" + std::to_string(h.kv_heads) + " head_dim=" + std::to_string(d));
      const size_t ws_bytes = kernels::decode_attention_workspace_bytes(dims);
      cuda::DeviceBuffer ws(ws_bytes);
      kernels::DecodeAttentionArgs args;
      args.dims = dims;
      args.qkv = qkv.get<bf16>();
      args.ld_qkv = ld_qkv;
      args.k_cache = kc.get<bf16>();
      args.v_cache = vc.get<bf16>();
      args.cache_positions = ctx;
      args.out = out.get<bf16>();
      args.ld_out = ld_out;
      const auto t = event_times(s, req.warmup, req.iters, [&] { flush.flush(s); }, [&] {
        TPBENCH_CUDA_CHECK(kernels::decode_attention(args, ws.get(), ws_bytes, s));
      });
      const AttentionShape shape{batch, 1, ctx - 1, h.q_heads, h.kv_heads, d, 0};
      m.attention.push_back(attention_point(h, batch, ctx, kernels::attention_kv_read_bytes(dims),
                                            own_attention_kernel(shape), median(t), library_time(args, s, flush, req)));
    }
  }
}

}  // namespace tpbench::calibrate
