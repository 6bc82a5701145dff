// The cuBLASLt FP8 GEMM against the host computation of the same E4M3 values (fp8_e4m3.hpp):
// operands rounded on the host, converted to FP8 bytes by CUDA's saturating conversion, the
// product accumulated in FP64 on the host. Skips without a device with FP8 tensor cores.
#ifdef TPBENCH_HAVE_CUDA
#include <gtest/gtest.h>

#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include <cmath>
#include <vector>

#include "harness/backend/cuda/fp8_gemm_runner.hpp"
#include "kernels/detail/counter_rng.hpp"
#include "kernels/detail/cuda_raii.hpp"
#include "kernels/detail/fp8_e4m3.hpp"

namespace tpbench::cuda {
namespace {

bool fp8_device() {
  if (!cuda_detail::cuda_device_available()) return false;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return false;
  return prop.major * 10 + prop.minor >= 89;  // FP8 tensor cores: Ada (8.9), Hopper (9.0) and later
}

TEST(Fp8GemmGpu, MatchesTheHostProductOfTheSameE4M3Values) {
  if (!fp8_device()) GTEST_SKIP() << "no CUDA device with FP8 tensor cores";
  const int64_t m = 16, n = 64, k = 128;
  const float scale_a = 1.0f, scale_w = fp8::weight_scale(k);
  std::vector<__nv_fp8_e4m3> a(m * k), w_t(n * k);
  std::vector<double> av(m * k), wv(n * k);
  for (int64_t i = 0; i < m * k; ++i) {
    const float x = fp8::round_e4m3(rng::uniform_pm1(3, 1, uint64_t(i)) * 2.0f / scale_a);
    a[i] = __nv_fp8_e4m3(x);
    av[i] = double(x) * scale_a;
  }
  for (int64_t i = 0; i < n * k; ++i) {
    const float x = fp8::round_e4m3(rng::uniform_pm1(3, 2, uint64_t(i)) * std::sqrt(3.0f / k) / scale_w);
    w_t[i] = __nv_fp8_e4m3(x);
    wv[i] = double(x) * scale_w;
  }
  cuda_detail::DeviceBuffer da(a.size()), dw(w_t.size()), dout(size_t(m * n) * 2), dscale(2 * sizeof(float));
  const float scales[2] = {scale_a, scale_w};
  ASSERT_EQ(cudaMemcpy(da.get(), a.data(), a.size(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dw.get(), w_t.data(), w_t.size(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dscale.get(), scales, sizeof scales, cudaMemcpyHostToDevice), cudaSuccess);
  Fp8GemmRunner runner(32 << 20);
  const auto* sa = static_cast<const float*>(dscale.get());
  runner.run(static_cast<const __nv_fp8_e4m3*>(da.get()), k, sa, static_cast<const __nv_fp8_e4m3*>(dw.get()), k, sa + 1,
             static_cast<__nv_bfloat16*>(dout.get()), n, m, n, k, nullptr);
  std::vector<__nv_bfloat16> out(size_t(m * n));
  ASSERT_EQ(cudaMemcpy(out.data(), dout.get(), out.size() * 2, cudaMemcpyDeviceToHost), cudaSuccess);
  // The product of exact E4M3 values accumulated in FP32: only the BF16 output rounding (2^-9
  // relative) and FP32 summation order separate it from the FP64 sum.
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double want = 0;
      for (int64_t c = 0; c < k; ++c) want += av[i * k + c] * wv[j * k + c];
      EXPECT_NEAR(double(__bfloat162float(out[i * n + j])), want, 4e-3 * std::fabs(want) + 1e-4) << i << "," << j;
    }
}

TEST(Fp8GemmGpu, RefusesShapesTheFp8KernelsDoNotTake) {
  if (!fp8_device()) GTEST_SKIP() << "no CUDA device with FP8 tensor cores";
  Fp8GemmRunner runner(1 << 20);
  cuda_detail::DeviceBuffer buf(1 << 16);
  auto* p = static_cast<__nv_fp8_e4m3*>(buf.get());
  const auto* s = static_cast<const float*>(buf.get());
  EXPECT_THROW(runner.run(p, 24, s, p, 24, s, static_cast<__nv_bfloat16*>(buf.get()), 16, 1, 16, 24, nullptr),
               std::invalid_argument);  // k = 24 is not a multiple of 16
}

}  // namespace
}  // namespace tpbench::cuda
#endif  // TPBENCH_HAVE_CUDA
