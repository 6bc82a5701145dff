// GPU tests of the kernels against the host references on random BF16 inputs (never zeros):
// attention and the elementwise ops against the CPU backend's own ops (cpu_ops.hpp), the skinny
// GEMM against skinny_gemm_reference. Every CUDA call is checked; every test skips when there is
// no usable CUDA device (this file builds on GPU-less CI machines and runs in device checks).
#ifdef TPBENCH_HAVE_CUDA
#include <gtest/gtest.h>

#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "harness/backend/detail/cpu_ops.hpp"
#include "kernels/cudnn_attention.hpp"
#include "kernels/decode_attention.cuh"
#include "kernels/detail/counter_rng.hpp"
#include "kernels/detail/cuda_raii.hpp"
#include "kernels/elementwise.cuh"
#include "kernels/l2_flush.cuh"
#include "kernels/skinny_gemm.cuh"

namespace tpbench::kernels {
namespace {

using cuda_detail::DeviceBuffer;
using bf16 = __nv_bfloat16;

#define SKIP_WITHOUT_GPU()                                                     \
  do {                                                                         \
    if (!cuda_detail::cuda_device_available()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

// Random BF16 values in scale * [-1, 1) (never zero), and the same values as floats.
struct HostBf16 {
  std::vector<bf16> bits;
  std::vector<float> values;
};
HostBf16 random_bf16(size_t n, uint64_t stream, float scale = 1.f) {
  HostBf16 h;
  h.bits.resize(n);
  h.values.resize(n);
  for (size_t i = 0; i < n; ++i) {
    h.bits[i] = __float2bfloat16(scale * rng::uniform_pm1(42, stream, i));
    h.values[i] = __bfloat162float(h.bits[i]);
  }
  return h;
}

DeviceBuffer upload(const std::vector<bf16>& h) {
  DeviceBuffer d(h.size() * sizeof(bf16));
  TPBENCH_CUDA_CHECK(cudaMemcpy(d.get(), h.data(), d.bytes(), cudaMemcpyHostToDevice));
  return d;
}
std::vector<float> download(const DeviceBuffer& d, size_t n) {
  std::vector<bf16> h(n);
  TPBENCH_CUDA_CHECK(cudaMemcpy(h.data(), d.get(), n * sizeof(bf16), cudaMemcpyDeviceToHost));
  std::vector<float> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = __bfloat162float(h[i]);
  return f;
}

// ||got - want|| / ||want|| over the selected elements.
double rel_l2(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    den += double(want[i]) * want[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

size_t count_mismatches(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return n;
}

struct AttnCase {
  int64_t batch, T, prior, qh, kvh, d, cache_seq0;
};

enum class AttnImpl { Own, Library };

void run_attention_case(const AttnCase& c, AttnImpl impl = AttnImpl::Own) {
  const AttentionDims dims{c.batch, c.T, c.prior, c.qh, c.kvh, c.d};
  const int64_t S = c.prior + c.T, rows = c.batch * c.T;
  const int64_t width = (c.qh + 2 * c.kvh) * c.d, ld_qkv = width + 8, ld_out = c.qh * c.d + 16;
  const int64_t seqs = c.cache_seq0 + c.batch, cache_elems = seqs * c.kvh * S * c.d;
  // q is scaled by 4 so that the softmax is far from uniform (scores of O(1)).
  HostBf16 qkv = random_bf16(size_t(rows * ld_qkv), 11, 1.f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < c.qh * c.d; ++j) {
      const size_t i = size_t(r * ld_qkv + j);
      qkv.bits[i] = __float2bfloat16(4.f * qkv.values[i]);
      qkv.values[i] = __bfloat162float(qkv.bits[i]);
    }
  HostBf16 kc = random_bf16(size_t(cache_elems), 12), vc = random_bf16(size_t(cache_elems), 13);
  HostBf16 out0 = random_bf16(size_t(rows * ld_out), 14);

  // Host reference: the CPU backend's attention on the same (BF16-valued) numbers.
  ::tpbench::detail::HostBuffers mem = {qkv.values, kc.values, vc.values, out0.values};
  Op op;
  op.kind = OpKind::Attention;
  op.a = View{0, 0, rows, width, ld_qkv};
  op.out = View{3, 0, rows, c.qh * c.d, ld_out};
  op.k_cache = 1;
  op.v_cache = 2;
  op.attn = AttentionShape{c.batch, c.T, c.prior, c.qh, c.kvh, c.d, c.cache_seq0};
  ::tpbench::detail::attention_reference(op, mem);

  DeviceBuffer d_qkv = upload(qkv.bits), d_k = upload(kc.bits), d_v = upload(vc.bits), d_out = upload(out0.bits);
  DecodeAttentionArgs args;
  args.dims = dims;
  args.qkv = d_qkv.get<bf16>();
  args.ld_qkv = ld_qkv;
  args.k_cache = d_k.get<bf16>();
  args.v_cache = d_v.get<bf16>();
  args.cache_seq0 = c.cache_seq0;
  args.out = d_out.get<bf16>();
  args.ld_out = ld_out;
  ASSERT_TRUE(decode_attention_supported(dims));
  if (impl == AttnImpl::Own) {
    const size_t ws_bytes = decode_attention_workspace_bytes(dims);
    DeviceBuffer ws(ws_bytes);
    TPBENCH_CUDA_CHECK(decode_attention(args, ws.get(), ws_bytes, nullptr));
  } else {
    CudnnAttention library;
    DeviceBuffer ws(library.prepare(args));
    TPBENCH_CUDA_CHECK(detail::launch_kv_append(args, nullptr));
    library.run(args, ws.get(), ws.bytes(), nullptr);
  }
  TPBENCH_CUDA_CHECK(cudaDeviceSynchronize());

  // The appended K/V are copies: exact (counted, not printed: the caches are large).
  EXPECT_EQ(count_mismatches(download(d_k, size_t(cache_elems)), mem[1]), 0u);
  EXPECT_EQ(count_mismatches(download(d_v, size_t(cache_elems)), mem[2]), 0u);
  const std::vector<float> got_all = download(d_out, size_t(rows * ld_out));
  std::vector<float> got, want;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < ld_out; ++j) {
      const size_t i = size_t(r * ld_out + j);
      if (j < c.qh * c.d) {
        got.push_back(got_all[i]);
        want.push_back(mem[3][i]);
      } else {
        EXPECT_EQ(got_all[i], out0.values[i]) << "padding column written at row " << r;
      }
    }
  // BF16 P and BF16 output: a few 2^-9 relative roundings.
  EXPECT_LT(rel_l2(got, want), 1e-2);
}

TEST(KernelGpu, DecodeAttentionSplitBatch1Context10k) {
  SKIP_WITHOUT_GPU();
  run_attention_case({1, 1, 10000, 8, 1, 128, 0});
}
TEST(KernelGpu, DecodeAttentionSplitGqaBatch3CacheOffset) {
  SKIP_WITHOUT_GPU();
  run_attention_case({3, 1, 300, 16, 2, 128, 2});   // 8 q heads per KV head, cache_seq0 = 2
  run_attention_case({2, 1, 0, 12, 4, 128, 0});     // context 1, group 3 (padded MMA rows)
  run_attention_case({2, 1, 4133, 16, 1, 128, 1});  // group 16 (all MMA rows), odd context
}
TEST(KernelGpu, DecodeAttentionLargeBatchNoSplit) {
  SKIP_WITHOUT_GPU();
  run_attention_case({300, 1, 70, 8, 8, 128, 0});
}
TEST(KernelGpu, PrefillChunkCausal) {
  SKIP_WITHOUT_GPU();
  run_attention_case({2, 5, 37, 8, 2, 128, 0});
  run_attention_case({1, 17, 0, 4, 4, 64, 1});
}
// cuDNN's SDPA on the same layout (the cuda backend's prefill kernel, and a decode candidate).
// Skips when the build has no cuDNN: the device check counts a skip as a failure.
#define SKIP_WITHOUT_LIBRARY()                                                               \
  do {                                                                                       \
    SKIP_WITHOUT_GPU();                                                                      \
    const LibraryStatus st = cudnn_attention_status();                                       \
    if (!st.usable) GTEST_SKIP() << st.description;                                          \
  } while (0)

// No device needed: the library says what it is, or why it is not there.
TEST(LibraryStatus, SaysWhatItIsOrWhyNot) {
  const LibraryStatus st = cudnn_attention_status();
  if (st.usable) EXPECT_EQ(st.description.rfind("cuDNN 9.", 0), 0u) << st.description;
  else EXPECT_NE(st.description.find("cuDNN"), std::string::npos) << st.description;
  EXPECT_EQ(st.description.find('\n'), std::string::npos);
}

TEST(KernelGpu, LibraryAttentionPrefillChunkCausal) {
  SKIP_WITHOUT_LIBRARY();
  run_attention_case({2, 5, 37, 8, 2, 128, 0}, AttnImpl::Library);
  run_attention_case({1, 17, 0, 4, 4, 64, 1}, AttnImpl::Library);
  run_attention_case({2, 130, 1000, 16, 2, 128, 1}, AttnImpl::Library);  // GQA, cache offset, long prior
}
TEST(KernelGpu, LibraryAttentionDecode) {
  SKIP_WITHOUT_LIBRARY();
  run_attention_case({3, 1, 300, 16, 2, 128, 2}, AttnImpl::Library);
  run_attention_case({2, 1, 4133, 8, 1, 128, 0}, AttnImpl::Library);
}
// head_dim 32 (the tiny model's; cuDNN takes multiples of 8 up to 256), prefill and decode,
// against the CPU reference; a second object preparing the same shape builds no new plan
// (plans are cached per device and shape for the process).
TEST(KernelGpu, LibraryAttentionHeadDim32) {
  SKIP_WITHOUT_LIBRARY();
  run_attention_case({2, 9, 50, 8, 2, 32, 0}, AttnImpl::Library);
  run_attention_case({3, 1, 300, 8, 2, 32, 1}, AttnImpl::Library);
  DecodeAttentionArgs args;  // the prefill case's layout, as run_attention_case lays it out
  args.dims = AttentionDims{2, 9, 50, 8, 2, 32};
  args.ld_qkv = (8 + 2 * 2) * 32 + 8;
  args.ld_out = 8 * 32 + 16;
  const size_t before = CudnnAttention::plans_built_on_this_device();
  CudnnAttention again;
  (void)again.prepare(args);
  EXPECT_EQ(CudnnAttention::plans_built_on_this_device(), before);
}
// A head_dim that is not a multiple of 8: the library refuses the shape with its reason (the
// cuda backend turns that into a not_runnable prefill point).
TEST(KernelGpu, LibraryAttentionRefusesHeadDim36) {
  SKIP_WITHOUT_LIBRARY();
  DecodeAttentionArgs args;
  args.dims = AttentionDims{1, 4, 10, 4, 4, 36};
  args.ld_qkv = 12 * 36;
  args.ld_out = 4 * 36;
  CudnnAttention library;
  try {
    (void)library.prepare(args);
    FAIL() << "head_dim 36 was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cuDNN SDPA"), std::string::npos) << e.what();
  }
}

TEST(KernelGpu, DecodeAttentionTinyHeadDim) {
  SKIP_WITHOUT_GPU();
  run_attention_case({3, 1, 50, 8, 2, 32, 0});
}

void run_skinny_case(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldw, int64_t ldo) {
  ASSERT_TRUE(skinny_gemm_supported(m, n, k, lda, ldw, ldo));
  HostBf16 a = random_bf16(size_t(m * lda), 21), w = random_bf16(size_t(k * ldw), 22, 0.05f);
  HostBf16 out0 = random_bf16(size_t(m * ldo), 23);
  std::vector<float> want(size_t(m * ldo));
  skinny_gemm_reference(m, n, k, a.values.data(), lda, w.values.data(), ldw, want.data(), ldo);
  DeviceBuffer d_a = upload(a.bits), d_w = upload(w.bits), d_out = upload(out0.bits);
  const size_t ws_bytes = skinny_gemm_workspace_bytes(m, n, k);
  DeviceBuffer ws(ws_bytes);
  if (ws_bytes) TPBENCH_CUDA_CHECK(cudaMemset(ws.get(), 0, ws_bytes));
  const SkinnyGemmArgs args{m, n, k, d_a.get<bf16>(), lda, d_w.get<bf16>(), ldw, d_out.get<bf16>(), ldo};
  std::vector<float> first;
  for (int rep = 0; rep < 2; ++rep) {  // the second call checks that the split counters were reset
    TPBENCH_CUDA_CHECK(skinny_gemm(args, ws.get(), ws_bytes, nullptr));
    TPBENCH_CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<float> got_all = download(d_out, size_t(m * ldo));
    std::vector<float> got, ref;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < ldo; ++j) {
        const size_t idx = size_t(i * ldo + j);
        if (j < n) {
          got.push_back(got_all[idx]);
          ref.push_back(want[idx]);
        } else {
          EXPECT_EQ(got_all[idx], out0.values[idx]);
        }
      }
    EXPECT_LT(rel_l2(got, ref), 1e-2) << "m " << m << " n " << n << " k " << k << " call " << rep;
    if (rep == 0) first = got;
    else EXPECT_EQ(count_mismatches(got, first), 0u) << "split-K result not deterministic";
  }
}

TEST(KernelGpu, SkinnyGemmLlamaShapes) {
  SKIP_WITHOUT_GPU();
  for (int64_t m : {1, 3, 8, 16}) run_skinny_case(m, 1280, 8192, 8192, 1280, 1280);  // 70B QKV at TP8
  run_skinny_case(4, 8192, 3584, 3584, 8192, 8192);                                   // 70B down at TP8
}
TEST(KernelGpu, SkinnyGemmOddShapesAndLeadingDims) {
  SKIP_WITHOUT_GPU();
  run_skinny_case(5, 136, 300, 303, 144, 141);
  run_skinny_case(2, 8, 1, 1, 8, 8);
  run_skinny_case(16, 72, 2049, 2050, 80, 72);
}

// One zeroed workspace serves shapes in turn (as the CUDA backend uses it): A, then B with more
// N tiles and different partials, then A again must still be right.
TEST(KernelGpu, SkinnyGemmSharedWorkspaceAcrossShapes) {
  SKIP_WITHOUT_GPU();
  struct Shape { int64_t m, n, k; };
  const Shape shapes[] = {{2, 1280, 8192}, {8, 8192, 1024}, {2, 1280, 8192}};
  size_t need = 0;
  for (const Shape& sh : shapes) need = std::max(need, skinny_gemm_workspace_bytes(sh.m, sh.n, sh.k));
  DeviceBuffer ws(need);
  if (need) TPBENCH_CUDA_CHECK(cudaMemset(ws.get(), 0, need));
  for (const Shape& sh : shapes) {
    HostBf16 a = random_bf16(size_t(sh.m * sh.k), 41), w = random_bf16(size_t(sh.k * sh.n), 42, 0.05f);
    std::vector<float> want(size_t(sh.m * sh.n));
    skinny_gemm_reference(sh.m, sh.n, sh.k, a.values.data(), sh.k, w.values.data(), sh.n, want.data(), sh.n);
    DeviceBuffer d_a = upload(a.bits), d_w = upload(w.bits), d_out(size_t(sh.m * sh.n) * sizeof(bf16));
    const SkinnyGemmArgs args{sh.m, sh.n, sh.k, d_a.get<bf16>(), sh.k, d_w.get<bf16>(), sh.n, d_out.get<bf16>(), sh.n};
    TPBENCH_CUDA_CHECK(skinny_gemm(args, ws.get(), need, nullptr));
    TPBENCH_CUDA_CHECK(cudaDeviceSynchronize());
    EXPECT_LT(rel_l2(download(d_out, want.size()), want), 1e-2) << "m " << sh.m << " n " << sh.n;
  }
}

// Elementwise ops against run_compute_op on the same BF16 values; ld_pad 0 -> vector path,
// odd padding -> scalar path.
void run_elementwise_case(OpKind kind, int64_t rows, int64_t cols, int64_t pad) {
  const int64_t in_cols = kind == OpKind::SiluMul ? 2 * cols : cols;
  const int64_t lda = in_cols + pad, ldo = cols + pad;
  HostBf16 a = random_bf16(size_t(rows * lda), 31, 2.f), out0 = random_bf16(size_t(rows * ldo), 32);
  HostBf16 w = random_bf16(size_t(cols), 33);
  ::tpbench::detail::HostBuffers mem = {a.values, w.values, out0.values};
  Op op;
  op.kind = kind;
  op.a = View{0, 0, rows, in_cols, lda};
  op.w = View{1, 0, 1, cols, cols};
  op.out = View{2, 0, rows, cols, ldo};
  ::tpbench::detail::run_compute_op(op, mem);

  DeviceBuffer d_a = upload(a.bits), d_w = upload(w.bits), d_out = upload(out0.bits);
  if (kind == OpKind::RmsNorm)
    TPBENCH_CUDA_CHECK(rmsnorm_bf16(d_a.get<bf16>(), lda, d_w.get<bf16>(), d_out.get<bf16>(), ldo, rows, cols, nullptr));
  else if (kind == OpKind::SiluMul)
    TPBENCH_CUDA_CHECK(silu_mul_bf16(d_a.get<bf16>(), lda, d_out.get<bf16>(), ldo, rows, cols, nullptr));
  else
    TPBENCH_CUDA_CHECK(residual_add_bf16(d_a.get<bf16>(), lda, d_out.get<bf16>(), ldo, rows, cols, nullptr));
  TPBENCH_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<float> got = download(d_out, size_t(rows * ldo));
  for (size_t i = 0; i < got.size(); ++i) {
    // One BF16 rounding of the result (2^-9 relative) plus FP32-vs-double differences.
    EXPECT_NEAR(got[i], mem[2][i], 8e-3 * std::fabs(mem[2][i]) + 1e-5) << "element " << i;
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(KernelGpu, RmsNorm) {
  SKIP_WITHOUT_GPU();
  run_elementwise_case(OpKind::RmsNorm, 5, 8192, 0);
  run_elementwise_case(OpKind::RmsNorm, 3, 257, 3);
}
TEST(KernelGpu, SiluMul) {
  SKIP_WITHOUT_GPU();
  run_elementwise_case(OpKind::SiluMul, 7, 3584, 0);
  run_elementwise_case(OpKind::SiluMul, 2, 99, 1);
}
TEST(KernelGpu, ResidualAdd) {
  SKIP_WITHOUT_GPU();
  run_elementwise_case(OpKind::ResidualAdd, 9, 8192, 8);
  run_elementwise_case(OpKind::ResidualAdd, 2, 33, 5);
}

TEST(KernelGpu, L2FlushCoversTheL2) {
  SKIP_WITHOUT_GPU();
  L2Flush flush;
  EXPECT_GE(flush.bytes(), size_t(flush.l2_bytes()));
  flush.flush(nullptr);
  TPBENCH_CUDA_CHECK(cudaDeviceSynchronize());
}

TEST(KernelGpu, RejectsBadArguments) {
  SKIP_WITHOUT_GPU();
  const SkinnyGemmArgs bad{17, 64, 64, nullptr, 64, nullptr, 64, nullptr, 64};
  EXPECT_EQ(skinny_gemm(bad, nullptr, 0, nullptr), cudaErrorInvalidValue);
  DecodeAttentionArgs none;
  EXPECT_EQ(decode_attention(none, nullptr, 0, nullptr), cudaErrorInvalidValue);
}

}  // namespace
}  // namespace tpbench::kernels
#endif  // TPBENCH_HAVE_CUDA
