#include "harness/backend/cuda/gemm_runner.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "harness/backend/choice_cache.hpp"
#include "harness/backend/cuda/cublaslt_algo.hpp"
#include "harness/backend/kernel_choice.hpp"
#include "harness/measure/stats.hpp"
#include "kernels/detail/event_timer.hpp"
#include "kernels/reference_ops.hpp"
#include "kernels/skinny_gemm.cuh"
#include <string>

namespace tpbench::cuda {

// One cached plan: the layouts of the column-major problem and the chosen algorithm.
// Row-major out = a * w is column-major out^T = w^T * a^T: cuBLAS's A is w (n x k, ld ldw),
// its B is a (k x m, ld lda), its C/D is out (n x m, ld ldo).
struct GemmRunner::Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

int pointer_alignment(const void* p) {
  const auto v = reinterpret_cast<uintptr_t>(p);
  for (int a : {16, 8, 4, 2})
    if (v % uintptr_t(a) == 0) return a;
  return 1;
}

GemmRunner::GemmRunner(size_t workspace_bytes) : workspace_(workspace_bytes) {
  TPBENCH_CUDA_CHECK(cudaGetDevice(&device_));
  TPBENCH_CUBLAS_CHECK(cublasLtCreate(&handle_));
}

GemmRunner::~GemmRunner() {
  for (auto& [shape, plan] : plans_) delete plan;
  if (handle_) cublasLtDestroy(handle_);
}

const GemmRunner::Plan& GemmRunner::plan_for(const GemmShape& s) {
  auto it = plans_.find(s);
  if (it != plans_.end()) return *it->second;
  auto* p = new Plan;
  try {
    TPBENCH_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t none = CUBLAS_OP_N;
    TPBENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &none, sizeof none));
    TPBENCH_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &none, sizeof none));
    TPBENCH_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->la, CUDA_R_16BF, uint64_t(s.n), uint64_t(s.k), s.ldw));
    TPBENCH_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lb, CUDA_R_16BF, uint64_t(s.k), uint64_t(s.m), s.lda));
    TPBENCH_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lc, CUDA_R_16BF, uint64_t(s.n), uint64_t(s.m), s.ldo));
    const std::optional<cublasLtMatmulAlgo_t> algo = best_lt_algo(
        handle_, p->desc, p->la, p->lb, p->lc, workspace_.bytes(),
        LtAlignments{uint32_t(s.align_w), uint32_t(s.align_a), uint32_t(s.align_o)});
    // No algorithm comes back as CUBLAS_STATUS_NOT_SUPPORTED: name the shape rather than the status.
    if (!algo)
      throw std::runtime_error("cuBLASLt has no algorithm for BF16 GEMM m=" + std::to_string(s.m) + " n=" +
                               std::to_string(s.n) + " k=" + std::to_string(s.k) + " (ld w/a/out " +
                               std::to_string(s.ldw) + "/" + std::to_string(s.lda) + "/" + std::to_string(s.ldo) +
                               ", alignment w/a/out " + std::to_string(s.align_w) + "/" +
                               std::to_string(s.align_a) + "/" + std::to_string(s.align_o) + " bytes)");
    p->algo = *algo;
  } catch (...) {
    delete p;
    throw;
  }
  plans_.emplace(s, p);
  return *p;
}

void GemmRunner::run_cublas(const GemmShape& sh, const __nv_bfloat16* a, const __nv_bfloat16* w,
                            __nv_bfloat16* out, cudaStream_t s) {
  const Plan& p = plan_for(sh);
  const float alpha = 1.0f, beta = 0.0f;
  TPBENCH_CUBLAS_CHECK(cublasLtMatmul(handle_, p.desc, &alpha, w, p.la, a, p.lb, &beta, out, p.lc, out, p.lc, &p.algo,
                                      workspace_.get(), workspace_.bytes(), s));
}

void GemmRunner::run_skinny(const GemmShape& sh, const __nv_bfloat16* a, const __nv_bfloat16* w,
                            __nv_bfloat16* out, cudaStream_t s) {
  kernels::SkinnyGemmArgs args;
  args.m = sh.m;
  args.n = sh.n;
  args.k = sh.k;
  args.a = a;
  args.lda = sh.lda;
  args.w = w;
  args.ldw = sh.ldw;
  args.out = out;
  args.ldo = sh.ldo;
  TPBENCH_CUDA_CHECK(kernels::skinny_gemm(args, skinny_ws_.get(), skinny_ws_.bytes(), s));
}

namespace {
// Skinny-or-cuBLASLt per (device, shape), for the whole process (harness/backend/choice_cache.hpp).
ChoiceCache<std::pair<int, GemmShape>, bool>& skinny_choices() {
  static ChoiceCache<std::pair<int, GemmShape>, bool> c;
  return c;
}
}  // namespace

// Decided once per shape in this process and device: median of a few event-timed runs of each,
// outside any capture. A candidate that fails to run is skipped (kernel_choice.hpp).
bool GemmRunner::use_skinny(const GemmShape& sh, const __nv_bfloat16* a, const __nv_bfloat16* w,
                            __nv_bfloat16* out, cudaStream_t s) {
  auto it = skinny_choice_.find(sh);
  if (it != skinny_choice_.end()) return it->second;
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  TPBENCH_CUDA_CHECK(cudaStreamIsCapturing(s, &capturing));
  if (capturing != cudaStreamCaptureStatusNone || sh.align_w < 16 ||
      !kernels::skinny_gemm_supported(sh.m, sh.n, sh.k, sh.lda, sh.ldw, sh.ldo))
    return false;  // not cached while capturing: decided at the next eager run
  if (kernels::skinny_gemm_workspace_bytes(sh.m, sh.n, sh.k) > skinny_ws_.bytes()) {
    skinny_choice_.emplace(sh, false);  // not reserved up front: cuBLASLt
    return false;
  }
  const auto key = std::make_pair(device_, sh);
  if (const std::optional<bool> known = skinny_choices().find(key)) return skinny_choice_.emplace(sh, *known).first->second;
  // Median of 6 event-timed runs after 2 warm-ups, each way (the output is overwritten).
  auto time_of = [&](bool skinny) {
    return summarize(cuda_detail::event_times(
        s, 2, 6, [&] { if (autotune_flush_) autotune_flush_->flush(s); },
        [&] { skinny ? run_skinny(sh, a, w, out, s) : run_cublas(sh, a, w, out, s); })).median;
  };
  const KernelDecision<bool> d = decide_fastest<bool>(
      {{true, [&] { return time_of(true); }}, {false, [&] { return time_of(false); }}}, [s] {
        (void)cudaGetLastError();  // a failed candidate's error; a broken stream ends the choice
        TPBENCH_CUDA_CHECK(cudaStreamSynchronize(s));
      });
  for (const auto& [skinny, e] : d.errors) tuning_errors_.push_back((skinny ? "skinny: " : "cuBLASLt: ") + e);
  const bool choice = skinny_choices().get_or_make(key, [&] { return d.kernel; });
  skinny_choice_.emplace(sh, choice);
  return choice;
}

size_t skinny_workspace_bytes(const RankProgram& r, int sm_count) {
  size_t need = 0;
  for (const Op& op : r.ops)
    if (op.kind == OpKind::Gemm && op.w.dtype != DType::FP8E4M3 && op.a.rows >= 1 && op.a.rows <= kernels::kSkinnyMaxM)
      need = std::max(need, kernels::skinny_gemm_workspace_bytes(op.a.rows, op.w.cols, op.a.cols, sm_count));
  return need;
}

void GemmRunner::reserve_skinny_workspace(const RankProgram& r, cudaStream_t s) {
  int device = 0, sms = 0;
  TPBENCH_CUDA_CHECK(cudaGetDevice(&device));
  TPBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  reserve_skinny_workspace(skinny_workspace_bytes(r, sms), s);
}

void GemmRunner::reserve_skinny_workspace(size_t need, cudaStream_t s) {
  if (need <= skinny_ws_.bytes()) return;
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(s));
  skinny_ws_ = DeviceBuffer(need);
  TPBENCH_CUDA_CHECK(cudaMemsetAsync(skinny_ws_.get(), 0, need, s));  // the kernel keeps it zeroed
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(s));
}

size_t GemmRunner::skinny_shapes() const {
  size_t n = 0;
  for (auto& [shape, skinny] : skinny_choice_) n += skinny ? 1 : 0;
  return n;
}

void GemmRunner::tune(const __nv_bfloat16* a, int64_t lda, const __nv_bfloat16* w, int64_t ldw, __nv_bfloat16* out,
                      int64_t ldo, int64_t m, int64_t n, int64_t k, cudaStream_t s) {
  if (m < 1 || m > kernels::kSkinnyMaxM || n == 0) return;
  const GemmShape shape{m, n, k, lda, ldw, ldo, pointer_alignment(a), pointer_alignment(w), pointer_alignment(out)};
  // The cuBLASLt heuristic too, outside any capture; a shape it has no algorithm for is left to
  // the skinny kernel (use_skinny records why cuBLASLt could not be timed).
  try {
    (void)plan_for(shape);
  } catch (const std::runtime_error&) {
  }
  (void)use_skinny(shape, a, w, out, s);
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(s));
}

void GemmRunner::run(const __nv_bfloat16* a, int64_t lda, const __nv_bfloat16* w, int64_t ldw, __nv_bfloat16* out,
                     int64_t ldo, int64_t m, int64_t n, int64_t k, cudaStream_t s) {
  if (m == 0 || n == 0) return;
  const GemmShape shape{m, n, k, lda, ldw, ldo, pointer_alignment(a), pointer_alignment(w), pointer_alignment(out)};
  if (m <= kernels::kSkinnyMaxM && use_skinny(shape, a, w, out, s)) return run_skinny(shape, a, w, out, s);
  run_cublas(shape, a, w, out, s);
}

}  // namespace tpbench::cuda
