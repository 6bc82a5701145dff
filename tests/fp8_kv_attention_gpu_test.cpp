// The project's attention over an FP8 (E4M3) KV cache against the CPU backend's attention on the
// same E4M3 values (cpu_ops.hpp, attention_reference with an FP8 cache): the cache rounded on
// the host and uploaded as E4M3 bytes, queries and new K/V as BF16. The append's rounding
// (nearest even, saturating) must equal the host's exactly; the output differs by FP32 summation
// order and the BF16 output rounding only. Skips without a CUDA device.
#ifdef TPBENCH_HAVE_CUDA
#include <gtest/gtest.h>

#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include <cmath>
#include <vector>

#include "harness/backend/detail/cpu_ops.hpp"
#include "kernels/decode_attention.cuh"
#include "kernels/detail/counter_rng.hpp"
#include "kernels/detail/cuda_raii.hpp"
#include "kernels/detail/fp8_e4m3.hpp"

namespace tpbench::kernels {
namespace {

using cuda_detail::DeviceBuffer;

template <typename T>
DeviceBuffer upload(const std::vector<T>& h) {
  DeviceBuffer d(h.size() * sizeof(T));
  TPBENCH_CUDA_CHECK(cudaMemcpy(d.get(), h.data(), d.bytes(), cudaMemcpyHostToDevice));
  return d;
}

template <typename T>
std::vector<float> download(const DeviceBuffer& d, size_t n) {
  std::vector<T> h(n);
  TPBENCH_CUDA_CHECK(cudaMemcpy(h.data(), d.get(), n * sizeof(T), cudaMemcpyDeviceToHost));
  std::vector<float> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = float(h[i]);
  return f;
}

struct Case {
  int64_t batch, T, prior, qh, kvh, d, cache_seq0;
};

void run_fp8_case(const Case& c) {
  AttentionDims dims{c.batch, c.T, c.prior, c.qh, c.kvh, c.d};
  dims.kv_fp8 = true;
  ASSERT_FALSE(attention_uses_split_path(dims));  // an FP8 cache runs the simple kernel
  const int64_t S = c.prior + c.T, rows = c.batch * c.T;
  const int64_t width = (c.qh + 2 * c.kvh) * c.d, ld_qkv = width + 8, ld_out = c.qh * c.d;
  const int64_t cache_elems = (c.cache_seq0 + c.batch) * c.kvh * S * c.d;
  const float scale = fp8::kActivationScale;
  // q scaled by 4 so that the softmax is far from uniform; K/V in [-2, 2), inside E4M3's range.
  std::vector<__nv_bfloat16> qkv(size_t(rows * ld_qkv));
  std::vector<float> qkv_f(qkv.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < ld_qkv; ++j) {
      const size_t i = size_t(r * ld_qkv + j);
      qkv[i] = __float2bfloat16((j < c.qh * c.d ? 4.f : 2.f) * rng::uniform_pm1(42, 21, i));
      qkv_f[i] = __bfloat162float(qkv[i]);
    }
  const size_t n_cache = size_t(cache_elems);
  std::vector<__nv_fp8_e4m3> kc(n_cache), vc(n_cache);
  std::vector<float> kc_f(kc.size()), vc_f(vc.size());
  for (size_t i = 0; i < kc.size(); ++i) {
    kc_f[i] = fp8::quantize(2.f * rng::uniform_pm1(42, 22, i), scale);
    vc_f[i] = fp8::quantize(2.f * rng::uniform_pm1(42, 23, i), scale);
    kc[i] = __nv_fp8_e4m3(kc_f[i] / scale);  // exact: the value is an E4M3 number
    vc[i] = __nv_fp8_e4m3(vc_f[i] / scale);
  }
  ::tpbench::detail::HostBuffers mem = {qkv_f, kc_f, vc_f, std::vector<float>(size_t(rows * ld_out), 0.f)};
  Op op;
  op.kind = OpKind::Attention;
  op.a = View{0, 0, rows, width, ld_qkv};
  op.out = View{3, 0, rows, c.qh * c.d, ld_out};
  op.k_cache = 1;
  op.v_cache = 2;
  op.attn = AttentionShape{c.batch, c.T, c.prior, c.qh, c.kvh, c.d, c.cache_seq0};
  op.attn.kv_dtype = DType::FP8E4M3;
  ::tpbench::detail::attention_reference(op, mem);

  DeviceBuffer d_qkv = upload(qkv), d_k = upload(kc), d_v = upload(vc);
  DeviceBuffer d_out(size_t(rows * ld_out) * sizeof(__nv_bfloat16));
  DecodeAttentionArgs args;
  args.dims = dims;
  args.qkv = d_qkv.get<__nv_bfloat16>();
  args.ld_qkv = ld_qkv;
  args.k_cache_fp8 = d_k.get<__nv_fp8_e4m3>();
  args.v_cache_fp8 = d_v.get<__nv_fp8_e4m3>();
  args.kv_scale = scale;
  args.cache_seq0 = c.cache_seq0;
  args.out = d_out.get<__nv_bfloat16>();
  args.ld_out = ld_out;
  ASSERT_EQ(decode_attention_workspace_bytes(dims), 0u);
  TPBENCH_CUDA_CHECK(decode_attention(args, nullptr, 0, nullptr));
  TPBENCH_CUDA_CHECK(cudaDeviceSynchronize());

  // The appended K/V: rounded exactly as the host rounds them.
  const std::vector<float> got_k = download<__nv_fp8_e4m3>(d_k, kc.size()), got_v = download<__nv_fp8_e4m3>(d_v, vc.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < got_k.size(); ++i) mismatches += (got_k[i] * scale != mem[1][i]) + (got_v[i] * scale != mem[2][i]);
  EXPECT_EQ(mismatches, 0u);
  const std::vector<float> got = download<__nv_bfloat16>(d_out, size_t(rows * ld_out));
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    num += (double(got[i]) - mem[3][i]) * (double(got[i]) - mem[3][i]);
    den += double(mem[3][i]) * mem[3][i];
  }
  // Same inputs on both sides: BF16 output rounding (2^-9 relative) and summation order only.
  EXPECT_LT(std::sqrt(num / den), 1e-2);
}

TEST(Fp8KvAttentionGpu, DecodeMatchesTheCpuReference) {
  if (!cuda_detail::cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  run_fp8_case({3, 1, 300, 16, 2, 128, 2});  // the split kernel's shape in BF16
  run_fp8_case({2, 1, 70, 8, 8, 64, 0});
  run_fp8_case({1, 1, 0, 4, 1, 128, 0});     // context 1
}

TEST(Fp8KvAttentionGpu, PrefillChunkMatchesTheCpuReference) {
  if (!cuda_detail::cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  run_fp8_case({2, 5, 37, 8, 2, 128, 0});
}

TEST(Fp8KvAttentionGpu, RefusesMixedCaches) {
  if (!cuda_detail::cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  DeviceBuffer q(4096), k(4096), v(4096), o(4096);
  DecodeAttentionArgs args;
  args.dims = AttentionDims{1, 1, 0, 1, 1, 32};
  args.dims.kv_fp8 = true;
  args.qkv = q.get<__nv_bfloat16>();
  args.ld_qkv = 96;
  args.k_cache = k.get<__nv_bfloat16>();  // BF16 caches for an FP8 call
  args.v_cache = v.get<__nv_bfloat16>();
  args.out = o.get<__nv_bfloat16>();
  args.ld_out = 32;
  EXPECT_EQ(decode_attention(args, nullptr, 0, nullptr), cudaErrorInvalidValue);
}

}  // namespace
}  // namespace tpbench::kernels
#endif
