// The cuda backend's mixture-of-experts ops (harness/backend/cuda/moe_runner.hpp: the gate,
// gather and combine kernels and the cuBLAS grouped expert GEMMs) against the CPU backend's
// run_moe_op, op by op, on the ops and row maps of real tiny-moe plans (TP within experts, and
// EP with all-to-all packing) over random BF16 buffers; then the same ops captured in a CUDA graph
// and replayed: bit-identical to the eager run. Skips without a CUDA device.
#include <gtest/gtest.h>

#ifdef TPBENCH_HAVE_CUDA
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "harness/backend/cuda/device_resources.hpp"
#include "harness/backend/cuda/moe_runner.hpp"
#include "harness/backend/detail/cpu_ops.hpp"
#include "harness/plan/plan.hpp"
#include "kernels/detail/counter_rng.hpp"
#include "kernels/moe.cuh"

using namespace tpbench;
using bf16 = __nv_bfloat16;

namespace {

bool is_moe(OpKind k) {
  return k == OpKind::MoeGate || k == OpKind::GatherRows || k == OpKind::GroupedGemm || k == OpKind::MoeCombine;
}

StepProgram tiny_moe(int tp, int ep, int64_t batch) {
  StepConfig c;
  c.tp = tp;
  c.ep = ep;
  c.batch = batch;
  c.context = 32;
  return build_program(preset_model("tiny-moe"), c);
}

// Every buffer of the rank as random BF16 bits in [-1, 1) and the same values as floats.
struct RankMemory {
  std::vector<std::vector<bf16>> bits;
  detail::HostBuffers values;
};
RankMemory random_memory(const RankProgram& r) {
  RankMemory m;
  for (size_t b = 0; b < r.buffers.size(); ++b) {
    const size_t n = size_t(std::max<int64_t>(r.buffers[b].elements, 1));
    m.bits.emplace_back(n);
    m.values.emplace_back(n);
    for (size_t i = 0; i < n; ++i) {
      m.bits[b][i] = __float2bfloat16(rng::uniform_pm1(7, b, i));
      m.values[b][i] = __bfloat162float(m.bits[b][i]);
    }
  }
  return m;
}

class DeviceRank {
 public:
  explicit DeviceRank(const RankMemory& m) {
    for (const auto& b : m.bits) {
      memory_.emplace_back(b.size() * sizeof(bf16));
      pointers_.push_back(memory_.back().get<bf16>());
    }
    upload(m);
  }
  void upload(const RankMemory& m) {
    for (size_t b = 0; b < m.bits.size(); ++b)
      TPBENCH_CUDA_CHECK(cudaMemcpy(pointers_[b], m.bits[b].data(), m.bits[b].size() * sizeof(bf16),
                                    cudaMemcpyHostToDevice));
    // A copy from pageable memory may still be in flight when cudaMemcpy returns, and the ops
    // run on a non-blocking stream that does not wait for the legacy stream.
    TPBENCH_CUDA_CHECK(cudaDeviceSynchronize());
  }
  std::vector<float> download(int b, size_t n) const {
    std::vector<bf16> h(n);
    TPBENCH_CUDA_CHECK(cudaMemcpy(h.data(), pointers_[size_t(b)], n * sizeof(bf16), cudaMemcpyDeviceToHost));
    std::vector<float> f(n);
    for (size_t i = 0; i < n; ++i) f[i] = __bfloat162float(h[i]);
    return f;
  }
  const std::vector<bf16*>& pointers() const { return pointers_; }

 private:
  std::vector<cuda::DeviceBuffer> memory_;
  std::vector<bf16*> pointers_;
};

double rel_l2(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    den += double(want[i]) * want[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

// Each MoE op alone, from the same random memory on both sides; the whole output buffer is
// compared (rows an op leaves untouched must keep their values, rows without terms become zero).
void ops_match_cpu(int tp, int ep, int64_t batch, int rank) {
  const StepProgram p = tiny_moe(tp, ep, batch);
  const RankProgram& r = p.ranks.at(size_t(rank));
  const RankMemory m = random_memory(r);
  DeviceRank d(m);
  cuda::Stream stream;
  cuda::MoeRunner runner(r, d.pointers(), stream.get());
  std::set<OpKind> kinds;
  for (const Op& op : r.ops) {
    if (!is_moe(op.kind)) continue;
    detail::HostBuffers want = m.values;
    detail::run_moe_op(op, r.moe_tables.at(size_t(op.moe.table)), want);
    d.upload(m);
    runner.launch(op, d.pointers(), stream.get());
    TPBENCH_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
    const std::vector<float>& w = want[size_t(op.out.buffer)];
    const std::vector<float> got = d.download(op.out.buffer, w.size());
    const std::string what = std::string(op_kind_name(op.kind)) + " '" + op.name + "' TP" + std::to_string(tp) + " EP" +
                             std::to_string(ep) + " rank " + std::to_string(rank);
    if (op.kind == OpKind::GatherRows) {
      EXPECT_EQ(got, w) << what;  // a copy
    } else if (op.kind == OpKind::MoeGate) {
      for (size_t i = 0; i < w.size(); ++i)  // one BF16 rounding of a value in (0, 1]
        ASSERT_NEAR(got[i], w[i], 8e-3 * std::fabs(w[i]) + 1e-5) << what << " element " << i;
    } else {
      // BF16 outputs of FP32 sums against FP32 (GEMM) or double (combine) sums.
      EXPECT_LT(rel_l2(got, w), 1e-2) << what;
    }
    kinds.insert(op.kind);
  }
  EXPECT_EQ(kinds.size(), 4u) << "every MoE op kind ran";
}

#define SKIP_WITHOUT_GPU()                                                     \
  do {                                                                         \
    if (!cuda_detail::cuda_device_available()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

}  // namespace

TEST(MoeKernelsGpu, TensorParallelExpertsMatchCpu) {
  SKIP_WITHOUT_GPU();
  ops_match_cpu(1, 1, 5, 0);
  ops_match_cpu(2, 1, 3, 1);
}

TEST(MoeKernelsGpu, ExpertParallelDispatchMatchesCpu) {
  SKIP_WITHOUT_GPU();
  ops_match_cpu(2, 2, 3, 0);
  ops_match_cpu(4, 2, 6, 3);
}

// The MoE ops of a rank captured in one CUDA graph (the grouped GEMM included) and replayed
// twice: the outputs are bit-identical to the eager run's (no atomics, fixed summation order).
TEST(MoeKernelsGpu, GraphReplayIsBitIdentical) {
  SKIP_WITHOUT_GPU();
  const StepProgram p = tiny_moe(2, 2, 4);
  const RankProgram& r = p.ranks.at(0);
  const RankMemory m = random_memory(r);
  DeviceRank d(m);
  cuda::Stream stream;
  cudaStream_t s = stream.get();
  cuda::MoeRunner runner(r, d.pointers(), s);
  auto enqueue = [&] {
    for (const Op& op : r.ops)
      if (is_moe(op.kind)) runner.launch(op, d.pointers(), s);
  };
  auto outputs = [&] {
    std::vector<std::vector<float>> out;
    for (const Op& op : r.ops)
      if (is_moe(op.kind)) out.push_back(d.download(op.out.buffer, m.values[size_t(op.out.buffer)].size()));
    return out;
  };
  enqueue();
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(s));
  const auto eager = outputs();
  cuda::CaptureGuard capture(s);
  enqueue();
  cuda::GraphExec graph = capture.finish();
  for (int replay = 0; replay < 2; ++replay) {
    d.upload(m);
    graph.launch(s);
    TPBENCH_CUDA_CHECK(cudaStreamSynchronize(s));
    EXPECT_EQ(outputs(), eager) << "replay " << replay;
  }
}

// Argument checks come before any CUDA call, so they run (and are tested) without a device.
TEST(MoeKernels, RejectBadArgumentsBeforeLaunching) {
  bf16* p = reinterpret_cast<bf16*>(uintptr_t(256));  // never dereferenced: every call below refuses
  const int32_t* idx = reinterpret_cast<const int32_t*>(uintptr_t(256));
  EXPECT_EQ(kernels::gather_rows_bf16(p, 8, idx, p, 8, 0, 8, nullptr), cudaSuccess);  // no rows: nothing to do
  EXPECT_EQ(kernels::gather_rows_bf16(nullptr, 8, idx, p, 8, 2, 8, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(kernels::gather_rows_bf16(p, 4, idx, p, 8, 2, 8, nullptr), cudaErrorInvalidValue);  // lda < cols
  EXPECT_EQ(kernels::moe_gate_bf16(p, 8, idx, 0, p, 2, 2, nullptr), cudaErrorInvalidValue);      // k = 0
  EXPECT_EQ(kernels::moe_gate_bf16(p, 8, idx, 2, p, 1, 2, nullptr), cudaErrorInvalidValue);      // ldg < k
  EXPECT_EQ(kernels::moe_combine_bf16(p, 8, p, idx, idx, nullptr, p, 8, 2, 8, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(kernels::moe_combine_bf16(p, 8, p, idx, idx, idx, p, 4, 2, 8, nullptr), cudaErrorInvalidValue);
}

#else
TEST(MoeKernelsGpu, NotBuilt) { GTEST_SKIP() << "built without CUDA"; }
#endif
