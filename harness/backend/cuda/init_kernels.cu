#include "harness/backend/cuda/init_kernels.cuh"

#include <stdexcept>
#include <string>

#include "harness/backend/fp8_gemm_plan.hpp"
#include "kernels/detail/cuda_check.hpp"
#include "kernels/detail/cuda_raii.hpp"
#include "kernels/detail/fp8_e4m3.hpp"
#include "kernels/detail/init_values.hpp"
#include "kernels/random_fill.cuh"

namespace tpbench::cuda {
namespace {

unsigned grid_for(int64_t n) {
  const int64_t blocks = (n + 255) / 256;
  return unsigned(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

__global__ void weight_segment_kernel(__nv_bfloat16* dst, WeightSegment s, int64_t global_cols, int64_t fan_in,
                                      bool is_norm, uint64_t seed) {
  const int64_t n = s.rows * s.cols;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / s.cols, c = i % s.cols;
    dst[s.dst_offset + r * s.dst_ld + c] = __float2bfloat16(
        init::weight(seed, int(s.which), s.layer, s.row0 + r, s.col0 + c, global_cols, fan_in, is_norm));
  }
}

// One segment of a k x n FP8 weight into its transposed storage w_t[n][k].
__global__ void fp8_weight_segment_kernel(__nv_fp8_e4m3* dst, WeightSegment s, int64_t global_cols, int64_t fan_in,
                                          int64_t k, int64_t n, float scale, uint64_t seed) {
  const int64_t count = s.rows * s.cols;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / s.cols, c = i % s.cols;
    const float w = init::weight(seed, int(s.which), s.layer, s.row0 + r, s.col0 + c, global_cols, fan_in, false);
    dst[transposed_index(s.dst_offset + r * s.dst_ld + c, k, n)] = __nv_fp8_e4m3(w / scale);  // as fp8::quantize
  }
}

__device__ __forceinline__ void store(__nv_bfloat16* p, float v) { *p = __float2bfloat16(v); }
__device__ __forceinline__ void store(__nv_fp8_e4m3* p, float v) {
  *p = __nv_fp8_e4m3(v / fp8::kActivationScale);  // an FP8 cache as the cpu backend rounds it, filler too
}

// Cache [seq][head][pos][dim]; positions < prior hold init::kv values, the rest filler.
template <typename KV>
__global__ void kv_kernel(KV* dst, int64_t elements, int64_t S, int64_t d, int64_t heads,
                          const int64_t* head_map, int64_t seq0, int64_t prior, int layer, bool is_v, uint64_t seed,
                          int64_t buffer) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < elements; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % d, p = (i / d) % S, h = (i / (d * S)) % heads, s = i / (d * S * heads);
    const float v = p < prior ? init::kv(seed, is_v, layer, seq0 + s, head_map[h], p, c) : init::filler(seed, buffer, i);
    store(dst + i, v);
  }
}

__global__ void hidden_kernel(__nv_bfloat16* dst, int64_t elements, int64_t H, HiddenInit h, uint64_t seed,
                              int64_t buffer) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < elements; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / H, col = i % H, g = h.row0 + row;
    const float v = g < h.real_rows ? init::embedding_part(seed, h.seq0 + g / h.tokens, g % h.tokens, col, h.vocab,
                                                           h.vocab_parts, h.vocab_part)
                                    : init::filler(seed, buffer, i);
    dst[i] = __float2bfloat16(v);
  }
}

bool is_norm(LogicalWeight w) {
  return w == LogicalWeight::AttnNorm || w == LogicalWeight::MlpNorm || w == LogicalWeight::FinalNorm;
}

}  // namespace

template <typename KV>
void launch_kv_init(const ModelSpec& m, const Buffer& b, int index, uint64_t seed, KV* dst, cudaStream_t s) {
  const KVInit& k = b.kv_init;
  // Plain cudaMalloc (stream-ordered pools are missing on some virtualised GPUs); the buffer's
  // cudaFree synchronises the device, so the kernel is done with it by then.
  const size_t map_bytes = k.kv_head_map.size() * sizeof(int64_t);
  cuda_detail::DeviceBuffer map(map_bytes);
  TPBENCH_CUDA_CHECK(cudaMemcpyAsync(map.get(), k.kv_head_map.data(), map_bytes, cudaMemcpyHostToDevice, s));
  kv_kernel<<<grid_for(b.elements), 256, 0, s>>>(dst, b.elements, k.positions, m.head_dim,
                                                int64_t(k.kv_head_map.size()), map.get<int64_t>(), k.seq0, k.prior,
                                                k.layer, b.init == InitKind::VCache, seed, index);
  TPBENCH_CUDA_CHECK_LAUNCH();
}

void init_fp8_kv(const ModelSpec& m, const RankProgram& r, int index, uint64_t seed, __nv_fp8_e4m3* dst,
                 cudaStream_t s) {
  const Buffer& b = r.buffers[index];
  if ((b.init != InitKind::KCache && b.init != InitKind::VCache) || b.dtype != DType::FP8E4M3)
    throw std::logic_error("init_fp8_kv: '" + b.name + "' is not an FP8 KV cache");
  launch_kv_init(m, b, index, seed, dst, s);
}

void init_fp8_weight(const ModelSpec& m, const RankProgram& r, int index, uint64_t seed, int64_t cols, float scale,
                     __nv_fp8_e4m3* dst, cudaStream_t s) {
  const Buffer& b = r.buffers[index];
  if (b.init != InitKind::Weights || cols <= 0 || b.elements % cols != 0)
    throw std::logic_error("init_fp8_weight: '" + b.name + "' is not an FP8 GEMM weight of " + std::to_string(cols) +
                           " columns");
  for (const WeightSegment& seg : b.weight_init) {
    if (is_norm(seg.which)) throw std::logic_error("init_fp8_weight: '" + b.name + "' holds a norm weight");
    const GlobalShape g = logical_shape(m, seg.which);
    fp8_weight_segment_kernel<<<grid_for(seg.rows * seg.cols), 256, 0, s>>>(dst, seg, g.cols, logical_fan_in(m, seg.which),
                                                                           b.elements / cols, cols, scale, seed);
    TPBENCH_CUDA_CHECK_LAUNCH();
  }
}

void init_buffer(const ModelSpec& m, const RankProgram& r, int index, uint64_t seed, __nv_bfloat16* dst,
                 cudaStream_t s) {
  const Buffer& b = r.buffers[index];
  const uint64_t filler_stream = rng::stream_id(init::kFiller, uint64_t(index));
  switch (b.init) {
    case InitKind::None: return;
    case InitKind::Filler:
      TPBENCH_CUDA_CHECK(kernels::random_fill_bf16(dst, b.elements, seed, filler_stream, 1.0f, 0.0f, s));
      return;
    case InitKind::Weights:
      // Padding no segment covers gets filler values, exactly as on the CPU.
      TPBENCH_CUDA_CHECK(kernels::random_fill_bf16(dst, b.elements, seed, filler_stream, 1.0f, 0.0f, s));
      for (const WeightSegment& seg : b.weight_init) {
        const GlobalShape g = logical_shape(m, seg.which);
        weight_segment_kernel<<<grid_for(seg.rows * seg.cols), 256, 0, s>>>(dst, seg, g.cols, logical_fan_in(m, seg.which),
                                                                            is_norm(seg.which), seed);
        TPBENCH_CUDA_CHECK_LAUNCH();
      }
      return;
    case InitKind::KCache:
    case InitKind::VCache: {
      if (b.dtype == DType::FP8E4M3) throw std::logic_error("init_buffer: '" + b.name + "' is FP8 (init_fp8_kv)");
      launch_kv_init(m, b, index, seed, dst, s);
      return;
    }
    case InitKind::Hidden:
      hidden_kernel<<<grid_for(b.elements), 256, 0, s>>>(dst, b.elements, m.hidden, b.hidden_init, seed, index);
      TPBENCH_CUDA_CHECK_LAUNCH();
      return;
  }
}

}  // namespace tpbench::cuda
