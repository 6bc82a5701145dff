// The cuda backend with FP8 (E4M3) weights and KV cache: TP=1 against the CPU backend's FP8 step
// (the same E4M3 values, computed in FP32), --verify's sharded-against-unsharded check on
// device-local ranks, and the refusal of prefill over an FP8 cache. Skip without a device with
// FP8 tensor cores: a skip proves nothing about GPUs.
#include <gtest/gtest.h>

#ifdef TPBENCH_HAVE_CUDA
#include <cuda_runtime.h>

#include "harness/backend/cpu_backend.hpp"
#include "harness/backend/cuda_backend_factory.hpp"
#include "harness/plan/plan.hpp"
#include "harness/sweep/verify.hpp"
#include "kernels/detail/cuda_raii.hpp"

using namespace tpbench;

namespace {

bool fp8_device() {
  if (!cuda_detail::cuda_device_available()) return false;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return false;
  return prop.major * 10 + prop.minor >= 89;  // FP8 tensor cores: Ada (8.9), Hopper (9.0) and later
}

#define REQUIRE_FP8_GPU() \
  do {                    \
    if (!fp8_device()) GTEST_SKIP() << "no CUDA device with FP8 tensor cores"; \
  } while (0)

ModelSpec tiny_fp8() {
  ModelSpec m = preset_model("tiny");
  m.weight_dtype = m.kv_dtype = DType::FP8E4M3;
  return m;
}

StepConfig config(int tp, int64_t batch, Phase ph = Phase::Decode) {
  StepConfig c;
  c.tp = tp;
  c.batch = batch;
  c.context = 200;
  c.phase = ph;
  c.chunk = ph == Phase::Prefill ? 32 : 0;
  return c;
}

std::vector<float> logits(Backend& b, const StepProgram& p) {
  b.prepare(p);
  b.run(Variant::Full);
  std::vector<float> out = b.logits();
  b.release();
  return out;
}

// BF16 activations against the CPU's FP32 ones flip E4M3 roundings as a sharded run's do
// (verify.hpp derives kFp8GpuVerifyTolerance for that), on top of BF16's own 3e-2 against FP32
// (cuda_backend_gpu_test.cpp): sqrt(7e-2^2 + 3e-2^2) ~ 8e-2.
constexpr double kFp8AgainstCpuTolerance = 8e-2;

}  // namespace

TEST(CudaFp8BackendGpu, Tp1DecodeMatchesTheCpuFp8Step) {
  REQUIRE_FP8_GPU();
  const ModelSpec m = tiny_fp8();
  BackendOptions o;
  o.kind = BackendKind::Cuda;
  auto gpu = make_cuda_backend(o);
  auto cpu = make_cpu_backend({});
  for (int64_t batch : {1, 5}) {
    const StepProgram p = build_program(m, config(1, batch));
    ASSERT_FALSE(gpu->cannot_run(p).has_value()) << *gpu->cannot_run(p);
    gpu->prepare(p);
    EXPECT_GT(gpu->kernel_choices().value("fp8_gemm_shapes", 0), 0);  // the FP8 GEMMs ran, not BF16 ones
    EXPECT_EQ(gpu->kernel_choices().value("attention", ""), "tpbench-simple");
    gpu->release();
    EXPECT_LE(relative_l2(logits(*gpu, p), logits(*cpu, p)), kFp8AgainstCpuTolerance) << "batch " << batch;
  }
}

// What `sweep --backend cuda --verify` does under --emulate-tp: every rank of TP=2/4 on one GPU
// against the unsharded step on the same backend.
TEST(CudaFp8BackendGpu, VerifyPassesOnDeviceLocalRanks) {
  REQUIRE_FP8_GPU();
  const ModelSpec m = tiny_fp8();
  BackendOptions o;
  o.kind = BackendKind::Cuda;
  o.emulate_tp = 2;
  auto local = make_cuda_verification_backend(o);
  Verifier verifier(m, local->verify_tolerance(m));
  for (PlanKind plan : {PlanKind::TP, PlanKind::TPSP})
    for (int tp : {2, 4}) {
      StepConfig c = config(tp, 3);
      c.plan = plan;
      const VerifyResult v = verifier.check(*local, c);
      ASSERT_FALSE(v.not_runnable.has_value()) << *v.not_runnable;
      EXPECT_TRUE(v.passed) << plan_name(plan) << " TP=" << tp << ": rel_l2 " << v.rel_l2 << " > " << v.tolerance;
    }
}

TEST(CudaFp8BackendGpu, PrefillOverAnFp8CacheIsNotRunnableWithTheReason) {
  REQUIRE_FP8_GPU();
  BackendOptions o;
  o.kind = BackendKind::Cuda;
  auto gpu = make_cuda_backend(o);
  const auto why = gpu->cannot_run(build_program(tiny_fp8(), config(1, 2, Phase::Prefill)));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("FP8"), std::string::npos) << *why;
}
#endif
