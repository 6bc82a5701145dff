// `tpbench calibrate`: BF16 GEMM ceilings through the backend's own GemmRunner (cuBLASLt, or the
// skinny kernel where it measured faster for a decode shape), so the efficiency table describes
// what the cuda backend actually achieves.
//  - matmul_flops: the best of the timed runs of one large square GEMM (compute-bound).
//  - per (shape, m): the median of single GEMMs with the L2 flushed before each, since in a
//    decode step a layer's weights were evicted by the 79 layers before it.
#include <algorithm>

#include "harness/backend/cuda/gemm_runner.hpp"
#include "harness/commands/cuda/calibrate_cuda.hpp"
#include "harness/common/error.hpp"
#include "kernels/l2_flush.cuh"
#include "kernels/reference_ops.hpp"
#include "kernels/skinny_gemm.cuh"
#include "kernels/random_fill.cuh"

namespace tpbench::calibrate {
namespace {

using bf16 = __nv_bfloat16;
constexpr size_t kWorkspace = size_t(32) << 20;  // cuBLASLt workspace (what the backend gives it)

// Uniform in [-1, 1): random, never an all-zero buffer (zeros toggle fewer bits and can run
// faster), and sums of k products stay far from BF16 overflow.
void fill(cuda::DeviceBuffer& b, uint64_t stream_id, cudaStream_t s) {
  TPBENCH_CUDA_CHECK(kernels::random_fill_bf16(b.get<bf16>(), int64_t(b.bytes() / 2), 0x67656d6d, stream_id, 1.0f,
                                               0.0f, s));
}

size_t bf16_bytes(int64_t rows, int64_t cols) { return size_t(rows) * size_t(cols) * sizeof(bf16); }

double measure_square(const CalibrateRequest& req, cuda::GemmRunner& runner, cudaStream_t s) {
  const int64_t n = req.square;
  cuda::DeviceBuffer a(bf16_bytes(n, n)), w(bf16_bytes(n, n)), out(bf16_bytes(n, n));
  fill(a, 1, s);
  fill(w, 2, s);
  const auto t = event_times(
      s, std::max(req.warmup, 5), req.iters, [] {},
      [&] { runner.run(a.get<bf16>(), n, w.get<bf16>(), n, out.get<bf16>(), n, n, n, n, s); });
  return 2.0 * double(n) * double(n) * double(n) / t.front();  // best: the ceiling
}

}  // namespace

void measure_gemm(const CalibrateRequest& req, CalibrateMeasurements& m) {
  if (req.gemm_m.empty()) return;
  cuda::Stream stream;
  const cudaStream_t s = stream.get();
  cuda::GemmRunner runner(kWorkspace);
  m.square = req.square;
  m.matmul_flops = measure_square(req, runner, s);

  kernels::L2Flush flush;
  runner.set_autotune_flush(&flush);
  const int64_t max_m = *std::max_element(req.gemm_m.begin(), req.gemm_m.end());
  // Reserve the skinny kernel's split-K workspace for every decode shape up front, as the cuda
  // backend does: without it the runner falls back to cuBLASLt and the table would not describe
  // what a step runs.
  size_t skinny_ws = 0;
  for (const CalibrateGemmShape& shape : req.gemm_shapes)
    for (const int64_t rows : req.gemm_m)
      if (rows >= 1 && rows <= kernels::kSkinnyMaxM)
        skinny_ws = std::max(skinny_ws, kernels::skinny_gemm_workspace_bytes(rows, shape.n, shape.k));
  runner.reserve_skinny_workspace(skinny_ws, s);
  for (const CalibrateGemmShape& shape : req.gemm_shapes) {
    const size_t need = bf16_bytes(max_m, shape.k) + bf16_bytes(shape.k, shape.n) + bf16_bytes(max_m, shape.n);
    if (double(need) > 0.8 * double(free_device_bytes()))
      throw UnavailableError("calibrate: GEMM " + shape.name + " n=" + std::to_string(shape.n) + " k=" +
                             std::to_string(shape.k) + " at m=" + std::to_string(max_m) +
                             " does not fit in device memory");
    // One allocation per shape at the largest m; smaller m use its leading rows.
    cuda::DeviceBuffer a(bf16_bytes(max_m, shape.k)), w(bf16_bytes(shape.k, shape.n)), out(bf16_bytes(max_m, shape.n));
    fill(a, 3, s);
    fill(w, 4, s);
    for (const int64_t rows : req.gemm_m) {
      // The first (warm-up) run of a decode shape also decides skinny kernel vs cuBLASLt.
      const auto t = event_times(
          s, req.warmup, req.iters, [&] { flush.flush(s); },
          [&] {
            runner.run(a.get<bf16>(), shape.k, w.get<bf16>(), shape.n, out.get<bf16>(), shape.n, rows, shape.n, shape.k, s);
          });
      m.gemm.push_back({shape, rows, median(t)});
    }
  }
}

}  // namespace tpbench::calibrate
