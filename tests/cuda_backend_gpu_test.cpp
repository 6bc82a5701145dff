// The cuda backend against the CPU backend's FP32 logits (an independent implementation): every
// plan, on the GPUs that exist. Skips without a CUDA device: a skip proves nothing about GPUs.
#include <gtest/gtest.h>

#ifdef TPBENCH_HAVE_CUDA
#include <cuda_runtime.h>

#include <cmath>
#include <utility>

#include "harness/backend/cpu_backend.hpp"
#include "harness/backend/cuda_backend_factory.hpp"
#include "harness/plan/plan.hpp"
#include "harness/backend/cuda/emulated_collective.cuh"
#include "harness/sweep/verify.hpp"
#include "kernels/cudnn_attention.hpp"

using namespace tpbench;

namespace {

int gpu_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

#define REQUIRE_GPUS(n)                                                         \
  do {                                                                          \
    if (gpu_count() < (n)) GTEST_SKIP() << "needs " << (n) << " CUDA device(s)"; \
  } while (0)

StepConfig config(PlanKind plan, int tp, int64_t batch, Phase ph = Phase::Decode, Overlap ov = Overlap::None) {
  StepConfig c;
  c.plan = plan;
  c.tp = tp;
  c.batch = batch;
  c.context = 200;
  c.phase = ph;
  c.chunk = ph == Phase::Prefill ? 32 : 0;
  c.overlap = ov;
  return c;
}

std::vector<float> logits(Backend& b, const StepProgram& p, Variant v = Variant::Full) {
  b.prepare(p);
  b.run(v);
  std::vector<float> out = b.logits();
  b.release();
  return out;
}

std::vector<float> cpu_reference(const ModelSpec& m, StepConfig c) {
  c.plan = PlanKind::TP;
  c.tp = 1;
  c.overlap = Overlap::None;
  auto cpu = make_cpu_backend({});
  return logits(*cpu, build_program(m, c));
}

// --emulate-tp 4 with the h100-sxm profile's collective times.
std::unique_ptr<Backend> emulated_tp4_backend() {
  BackendOptions o;
  o.kind = BackendKind::Cuda;
  o.emulate_tp = 4;
  o.profile = "h100-sxm";
  return make_cuda_backend(o);
}

// BF16 weights/activations against FP32: relative L2 of the logits within 3 %.
constexpr double kBf16Tolerance = 3e-2;

}  // namespace

void tp1_matches_cpu(Phase ph) {
  const ModelSpec m = preset_model("tiny");
  BackendOptions o;
  o.kind = BackendKind::Cuda;
  auto gpu = make_cuda_backend(o);
  {
    for (int64_t batch : {1, 5}) {
      const StepConfig c = config(PlanKind::TP, 1, batch, ph);
      EXPECT_LE(relative_l2(logits(*gpu, build_program(m, c)), cpu_reference(m, c)), kBf16Tolerance)
          << phase_name(ph) << " batch " << batch;
    }
  }
}

// Host arithmetic of --emulate-tp (no GPU needed): the spin asked of the wait kernel is the
// profile's time less the kernel's own overshoot, never negative; a collective shorter than the
// overshoot still gets its (empty) wait, which then costs the overshoot.
TEST(CudaBackendEmulation, SpinIsTheProfileTimeLessTheOvershoot) {
  EXPECT_DOUBLE_EQ(cuda::emulated_spin_s(20e-6, 1.5e-6), 18.5e-6);
  EXPECT_DOUBLE_EQ(cuda::emulated_spin_s(0.4e-6, 1.5e-6), 0.0);
  EXPECT_DOUBLE_EQ(cuda::emulated_spin_s(5e-6, -1.0), 5e-6);  // a negative measurement is no overshoot
}

TEST(CudaBackendGpu, Tp1MatchesCpuFp32) {
  REQUIRE_GPUS(1);
  tp1_matches_cpu(Phase::Decode);
}

// Prefill chunks run on cuDNN's flash attention only (a build without it: not runnable).
TEST(CudaBackendGpu, Tp1PrefillOnTheLibraryMatchesCpuFp32) {
  REQUIRE_GPUS(1);
  const kernels::LibraryStatus st = kernels::cudnn_attention_status();
  if (!st.usable) GTEST_SKIP() << st.description;
  tp1_matches_cpu(Phase::Prefill);
}

TEST(CudaBackendGpu, GraphReplayIsDeterministicAndTimed) {
  REQUIRE_GPUS(1);
  BackendOptions o;
  o.kind = BackendKind::Cuda;
  auto gpu = make_cuda_backend(o);
  const StepProgram p = build_program(preset_model("tiny"), config(PlanKind::TP, 1, 4));
  gpu->prepare(p);
  const StepTime t1 = gpu->run(Variant::Full);  // eager warm-up, capture, first replay
  const std::vector<float> first = gpu->logits();
  const StepTime t2 = gpu->run(Variant::Full);
  EXPECT_GT(t1.layers_s, 0);
  EXPECT_GT(t2.head_s, 0);
  // Every replay computes the same step (the prologue resets the residual stream, the K/V
  // append rewrites the same position), and no kernel sums in a run-dependent order.
  EXPECT_EQ(gpu->logits(), first) << "two graph replays differ";
  EXPECT_EQ(gpu->profile_ops().size(), p.ranks[0].ops.size());
  // The kernels chosen before the step are reported (tiny's head_dim 32: not the split path).
  const nlohmann::json k = gpu->kernel_choices();
  EXPECT_TRUE(k.at("attention") == "tpbench-simple" || k.at("attention") == "cudnn-sdpa") << k.dump();
  EXPECT_GE(k.at("gemm_shapes").get<int>(), 1) << k.dump();
  // profile_ops runs the step eagerly, op by op: the graph must compute what the ops do.
  EXPECT_EQ(gpu->logits(), first) << "the eager step differs from its graph";
  gpu->release();
}

// The two-stream graphs (the communication stream forked into and joined back from each
// captured section) under --emulate-tp, for every overlap mode and the variants that skip
// collectives or compute: they capture, replay and time.
TEST(CudaBackendGpu, EmulatedOverlapModesCaptureAndReplay) {
  REQUIRE_GPUS(1);
  auto gpu = emulated_tp4_backend();
  const ModelSpec m = preset_model("llama-3.1-8b");
  const std::pair<PlanKind, Overlap> cases[] = {{PlanKind::TP, Overlap::Streams},
                                                {PlanKind::TP, Overlap::Split},
                                                {PlanKind::TPSP, Overlap::Streams},
                                                {PlanKind::WeightGather, Overlap::Streams}};
  for (const auto& [plan, ov] : cases) {
    StepConfig c = config(plan, 4, 8, Phase::Decode, ov);
    c.layers = 2;
    const StepProgram p = build_program(m, c);
    ASSERT_FALSE(gpu->cannot_run(p).has_value());
    gpu->prepare(p);
    for (Variant v : {Variant::Full, Variant::ComputeOnly, Variant::CommOnly})
      for (int rep = 0; rep < 2; ++rep) {
        const StepTime t = gpu->run(v);
        EXPECT_TRUE(std::isfinite(t.total()) && t.total() > 0)
            << plan_name(plan) << " " << overlap_name(ov) << " variant " << int(v) << ": " << t.total();
      }
    gpu->release();
  }
}

// All ranks of TP=2/4/8 on one GPU through the device-local group (the --verify path under
// --emulate-tp): every plan against the CPU's unsharded FP32 step.
TEST(CudaBackendGpu, DeviceLocalRanksMatchCpu) {
  REQUIRE_GPUS(1);
  const ModelSpec m = preset_model("tiny");
  BackendOptions o;
  o.kind = BackendKind::Cuda;
  o.emulate_tp = 2;
  auto local = make_cuda_verification_backend(o);
  for (PlanKind plan : {PlanKind::TP, PlanKind::TPSP, PlanKind::WeightGather})
    for (int tp : {2, 4, 8}) {
      const StepConfig c = config(plan, tp, 3, Phase::Decode, Overlap::Streams);
      EXPECT_LE(relative_l2(logits(*local, build_program(m, c)), cpu_reference(m, c)), kBf16Tolerance)
          << plan_name(plan) << " TP=" << tp;
    }
}

// Real NCCL on several GPUs.
TEST(CudaBackendGpu, NcclTpMatchesCpu) {
  REQUIRE_GPUS(2);
  const ModelSpec m = preset_model("tiny");
  BackendOptions o;
  o.kind = BackendKind::Cuda;
  auto gpu = make_cuda_backend(o);
  const int tp = gpu_count() >= 4 ? 4 : 2;
  for (PlanKind plan : {PlanKind::TP, PlanKind::TPSP, PlanKind::WeightGather})
    for (Overlap ov : {Overlap::None, Overlap::Streams}) {
      const StepConfig c = config(plan, tp, 4, Phase::Decode, ov);
      EXPECT_LE(relative_l2(logits(*gpu, build_program(m, c)), cpu_reference(m, c)), kBf16Tolerance)
          << plan_name(plan) << " " << overlap_name(ov);
    }
}

// --emulate-tp: rank 0 only, collectives replaced by profile-timed waits; compute-only must be
// faster than the full step by roughly the emulated collective time.
TEST(CudaBackendGpu, EmulatedTpRunsRankZeroOnly) {
  REQUIRE_GPUS(1);
  auto gpu = emulated_tp4_backend();
  EXPECT_TRUE(gpu->emulated());
  StepConfig c = config(PlanKind::TP, 4, 8);
  const StepProgram p = build_program(preset_model("llama-3.1-8b"), [&] { c.layers = 2; return c; }());
  ASSERT_FALSE(gpu->cannot_run(p).has_value());
  gpu->prepare(p);
  gpu->run(Variant::Full);
  const StepTime full = gpu->run(Variant::Full);
  gpu->run(Variant::ComputeOnly);
  const StepTime compute = gpu->run(Variant::ComputeOnly);
  EXPECT_GT(full.total(), compute.total());
  gpu->release();
}

// tiny-moe: every TP/EP sharding (TP within the experts at EP=1, all-to-all dispatch at EP=2),
// all ranks on one GPU through the device-local group (sweep --verify under --emulate-tp),
// against the CPU's unsharded FP32 step within the cuda backend's own verify tolerance.
TEST(CudaBackendGpu, TinyMoeDeviceLocalRanksMatchCpu) {
  REQUIRE_GPUS(1);
  const ModelSpec m = preset_model("tiny-moe");
  BackendOptions o;
  o.kind = BackendKind::Cuda;
  o.emulate_tp = 2;
  auto local = make_cuda_verification_backend(o);
  for (int tp : {2, 4})
    for (int ep : {1, 2}) {
      StepConfig c = config(PlanKind::TP, tp, 3);
      c.ep = ep;
      const StepProgram p = build_program(m, c);
      ASSERT_FALSE(local->cannot_run(p).has_value()) << *local->cannot_run(p);
      StepConfig unsharded = c;
      unsharded.ep = 1;
      EXPECT_LE(relative_l2(logits(*local, p), cpu_reference(m, unsharded)), local->verify_tolerance(m))
          << "TP=" << tp << " EP=" << ep;
    }
}

// tiny-moe at TP=1 through captured CUDA graphs (the grouped GEMMs and the MoE kernels inside
// them): the logits after graph replays match the CPU step.
TEST(CudaBackendGpu, TinyMoeGraphsMatchCpu) {
  REQUIRE_GPUS(1);
  const ModelSpec m = preset_model("tiny-moe");
  BackendOptions o;
  o.kind = BackendKind::Cuda;
  auto gpu = make_cuda_backend(o);
  for (Phase ph : {Phase::Decode, Phase::Prefill}) {
    const StepConfig c = config(PlanKind::TP, 1, 4, ph);
    const StepProgram p = build_program(m, c);
    gpu->prepare(p);
    gpu->run(Variant::Full);
    gpu->run(Variant::Full);
    const std::vector<float> got = gpu->logits();
    gpu->release();
    EXPECT_LE(relative_l2(got, cpu_reference(m, c)), gpu->verify_tolerance(m)) << phase_name(ph);
  }
}

// --emulate-tp 4 with EP 2: rank 0's step (all-to-alls as profile-timed waits) is captured,
// replayed and timed.
TEST(CudaBackendGpu, TinyMoeEmulatedExpertParallelRuns) {
  REQUIRE_GPUS(1);
  auto gpu = emulated_tp4_backend();
  StepConfig c = config(PlanKind::TP, 4, 8);
  c.ep = 2;
  const StepProgram p = build_program(preset_model("tiny-moe"), c);
  ASSERT_FALSE(gpu->cannot_run(p).has_value()) << *gpu->cannot_run(p);
  gpu->prepare(p);
  gpu->run(Variant::Full);
  const StepTime t = gpu->run(Variant::Full);
  EXPECT_GT(t.total(), 0.0);
  gpu->release();
}

#else
TEST(CudaBackendGpu, NotBuilt) { GTEST_SKIP() << "built without CUDA"; }
#endif
