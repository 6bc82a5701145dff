// GEMM micro-benchmarks over Llama-3.1-70B shapes at TP 1/2/4/8: cuBLAS (cublasGemmEx, BF16 in
// and out, FP32 accumulation) against the skinny GEMM (kernels/skinny_gemm.cuh) for decode
// (M = 1..16), and cuBLAS alone for prefill (M = 512..8192 tokens). Counters: bytes, TB_per_s,
// TFLOP_per_s and hbm_read_ratio = achieved / the HBM read bandwidth this binary measures at
// start-up (counter hbm_read_TB_per_s). Every iteration starts with a flushed L2.
//
// Target: skinny GEMM >= 90 % of the measured HBM read bandwidth at M = 1..8 and never
// slower than cuBLAS. UNVERIFIED: built on a machine without a GPU; never run.
#include <cstdio>
#include <string>
#include <vector>

#include "bench/detail/gpu_bench.cuh"
#include "kernels/skinny_gemm.cuh"

namespace tpbench::bench {
namespace {

using bf16 = __nv_bfloat16;

struct GemmShape {
  std::string name;
  int64_t n, k;
};

// Llama-3.1-70B (hidden 8192, intermediate 28672, 64 q / 8 KV heads of 128, vocab 128256), the
// per-rank shapes of the tp plan: column-parallel QKV, gate_up and LM head; row-parallel O, down.
std::vector<GemmShape> llama70b_shapes(int64_t tp, bool with_lm_head) {
  std::vector<GemmShape> v = {{"qkv", (64 + 2 * 8) * 128 / tp, 8192},
                              {"o", 8192, 64 * 128 / tp},
                              {"gate_up", 2 * 28672 / tp, 8192},
                              {"down", 8192, 28672 / tp}};
  if (with_lm_head) v.push_back({"lm_head", 128256 / tp, 8192});
  return v;
}

enum class Impl { Cublas, Skinny };

void bench_gemm(benchmark::State& state, Impl impl, int64_t m, GemmShape shape, double hbm_bps) {
  run_guarded(state, [&] {
    const int64_t n = shape.n, k = shape.k;
    CudaStream s;
    kernels::L2Flush flush;
    DeviceBuffer a(size_t(m * k) * 2), w(size_t(k * n) * 2), out(size_t(m * n) * 2);
    fill_random(a, 10, s.get());
    fill_random(w, 11, s.get());
    double secs = 0;
    if (impl == Impl::Cublas) {
      CublasHandle h;
      TPBENCH_CUBLAS_CHECK(cublasSetStream(h.get(), s.get()));
      const float alpha = 1.f, beta = 0.f;
      // Row-major out[m,n] = A[m,k] W[k,n] is column-major out^T[n,m] = W^T[n,k] A^T[k,m].
      secs = time_iterations(state, s.get(), flush, [&] {
        TPBENCH_CUBLAS_CHECK(cublasGemmEx(h.get(), CUBLAS_OP_N, CUBLAS_OP_N, int(n), int(m), int(k), &alpha,
                                          w.get(), CUDA_R_16BF, int(n), a.get(), CUDA_R_16BF, int(k), &beta,
                                          out.get(), CUDA_R_16BF, int(n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      });
    } else {
      if (!kernels::skinny_gemm_supported(m, n, k, k, n, n)) throw std::runtime_error("shape not supported");
      const size_t ws_bytes = kernels::skinny_gemm_workspace_bytes(m, n, k);
      DeviceBuffer ws(ws_bytes);
      if (ws_bytes) TPBENCH_CUDA_CHECK(cudaMemsetAsync(ws.get(), 0, ws_bytes, s.get()));  // counters start at 0
      const kernels::SkinnyGemmArgs args{m, n, k, a.get<bf16>(), k, w.get<bf16>(), n, out.get<bf16>(), n};
      kernels::SkinnyGemmPlan plan;
      TPBENCH_CUDA_CHECK(kernels::skinny_gemm_current_plan(m, n, k, &plan));
      state.counters["k_splits"] = double(plan.k_splits);
      state.counters["ctas"] = double(plan.ctas);
      secs = time_iterations(state, s.get(), flush,
                             [&] { TPBENCH_CUDA_CHECK(kernels::skinny_gemm(args, ws.get(), ws_bytes, s.get())); });
    }
    const double bytes = 2.0 * double(k * n + m * k + m * n);
    set_bandwidth_counters(state, bytes, 2.0 * double(m) * double(n) * double(k), secs, hbm_bps);
    state.counters["hbm_read_TB_per_s"] = hbm_bps * 1e-12;
  });
}

void register_all(double hbm_bps) {
  for (const int64_t tp : {1, 2, 4, 8}) {
    for (const GemmShape& shape : llama70b_shapes(tp, true))
      for (const int64_t m : {1, 2, 4, 8, 16})
        for (const Impl impl : {Impl::Cublas, Impl::Skinny}) {
          const std::string name = std::string("gemm/decode/") + (impl == Impl::Cublas ? "cublas" : "skinny") +
                                   "/tp" + std::to_string(tp) + "/" + shape.name + "/m" + std::to_string(m);
          benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) { bench_gemm(st, impl, m, shape, hbm_bps); })
              ->UseManualTime()->Iterations(50)->Unit(benchmark::kMicrosecond);
        }
    for (const GemmShape& shape : llama70b_shapes(tp, false))
      for (const int64_t m : {512, 2048, 8192}) {
        const std::string name = "gemm/prefill/cublas/tp" + std::to_string(tp) + "/" + shape.name + "/m" + std::to_string(m);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) { bench_gemm(st, Impl::Cublas, m, shape, hbm_bps); })
            ->UseManualTime()->Iterations(10)->Unit(benchmark::kMicrosecond);
      }
  }
}

}  // namespace
}  // namespace tpbench::bench

int main(int argc, char** argv) {
  return tpbench::bench::gpu_bench_main(argc, argv, tpbench::bench::register_all);
}
