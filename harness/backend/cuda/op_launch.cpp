#include "harness/backend/cuda/op_launch.hpp"

#include <algorithm>
#include <stdexcept>

#include "harness/backend/cuda/attention_runner.hpp"
#include "harness/backend/cuda/fp8_gemm_runner.hpp"
#include "harness/backend/cuda/moe_runner.hpp"
#include "kernels/decode_attention.cuh"
#include "kernels/detail/cuda_check.hpp"
#include "kernels/elementwise.cuh"
#include "kernels/fp8_quantize.cuh"
#include "kernels/detail/fp8_e4m3.hpp"

namespace tpbench::cuda {
kernels::AttentionDims attention_dims(const AttentionShape& s) {
  kernels::AttentionDims d;
  d.batch = s.batch;
  d.new_tokens = s.new_tokens;
  d.prior = s.prior;
  d.q_heads = s.q_heads;
  d.kv_heads = s.kv_heads;
  d.head_dim = s.head_dim;
  d.kv_fp8 = s.kv_dtype == DType::FP8E4M3;
  return d;
}

namespace {

// The input quantized at the static activation scale into the staging buffer, then the TN FP8
// GEMM on the transposed weight (ld k) with both scales from device memory.
void launch_fp8_gemm(const Op& op, const OpContext& ctx, cudaStream_t s) {
  if (!ctx.fp8) throw std::logic_error("FP8 GEMM '" + op.name + "' without an FP8 GEMM context");
  const Fp8GemmContext& f = *ctx.fp8;
  const int64_t m = op.a.rows, k = op.a.cols, n = op.w.cols;
  TPBENCH_CUDA_CHECK(
      kernels::quantize_bf16_e4m3(view_ptr(ctx, op.a), op.a.ld, f.input, k, m, k, fp8::kActivationScale, s));
  const int w_scale = (*f.scale_index).at(size_t(op.w.buffer));
  if (w_scale < 0) throw std::logic_error("FP8 GEMM '" + op.name + "': its weight has no scale");
  f.runner->run(f.input, k, f.scales, fp8_ptr(ctx, op.w), k, f.scales + w_scale, view_ptr(ctx, op.out), op.out.ld,
                m, n, k, s);
}

}  // namespace

void launch_compute_op(const Op& op, const OpContext& ctx, cudaStream_t s) {
  switch (op.kind) {
    case OpKind::Gemm:
      if (op.w.dtype == DType::FP8E4M3) return launch_fp8_gemm(op, ctx, s);
      ctx.gemm->run(view_ptr(ctx, op.a), op.a.ld, view_ptr(ctx, op.w), op.w.ld, view_ptr(ctx, op.out), op.out.ld,
                    op.a.rows, op.w.cols, op.a.cols, s);
      return;
    case OpKind::RmsNorm:
      TPBENCH_CUDA_CHECK(kernels::rmsnorm_bf16(view_ptr(ctx, op.a), op.a.ld, view_ptr(ctx, op.w), view_ptr(ctx, op.out),
                                               op.out.ld, op.a.rows, op.a.cols, s));
      return;
    case OpKind::SiluMul:
      TPBENCH_CUDA_CHECK(kernels::silu_mul_bf16(view_ptr(ctx, op.a), op.a.ld, view_ptr(ctx, op.out), op.out.ld,
                                                op.out.rows, op.out.cols, s));
      return;
    case OpKind::ResidualAdd:
      TPBENCH_CUDA_CHECK(kernels::residual_add_bf16(view_ptr(ctx, op.a), op.a.ld, view_ptr(ctx, op.out), op.out.ld,
                                                    op.out.rows, op.out.cols, s));
      return;
    case OpKind::Attention:
      ctx.attention->run(op, attention_args(op, *ctx.buffers), s);
      return;
    case OpKind::Copy:
      TPBENCH_CUDA_CHECK(cudaMemcpy2DAsync(view_ptr(ctx, op.out), size_t(op.out.ld) * sizeof(__nv_bfloat16),
                                           view_ptr(ctx, op.a), size_t(op.a.ld) * sizeof(__nv_bfloat16),
                                           size_t(op.out.cols) * sizeof(__nv_bfloat16), size_t(op.out.rows),
                                           cudaMemcpyDeviceToDevice, s));
      return;
    case OpKind::MoeGate:
    case OpKind::GatherRows:
    case OpKind::GroupedGemm:
    case OpKind::MoeCombine:
      if (!ctx.moe) throw std::logic_error("mixture-of-experts op '" + op.name + "' without a MoE runner");
      ctx.moe->launch(op, *ctx.buffers, s);
      return;
    case OpKind::Collective: break;
  }
  throw std::logic_error("launch_compute_op: '" + op.name + "' is not a compute op");
}

}  // namespace tpbench::cuda
