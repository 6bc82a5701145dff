#include "harness/backend/cuda/op_launch.hpp"

#include <algorithm>
#include <stdexcept>

#include "harness/backend/cuda/attention_runner.hpp"
#include "kernels/decode_attention.cuh"
#include "kernels/detail/cuda_check.hpp"
#include "kernels/elementwise.cuh"

namespace tpbench::cuda {
kernels::AttentionDims attention_dims(const AttentionShape& s) {
  kernels::AttentionDims d;
  d.batch = s.batch;
  d.new_tokens = s.new_tokens;
  d.prior = s.prior;
  d.q_heads = s.q_heads;
  d.kv_heads = s.kv_heads;
  d.head_dim = s.head_dim;
  return d;
}

void launch_compute_op(const Op& op, const OpContext& ctx, cudaStream_t s) {
  switch (op.kind) {
    case OpKind::Gemm:
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
    case OpKind::Collective: break;
  }
  throw std::logic_error("launch_compute_op: '" + op.name + "' is not a compute op");
}

}  // namespace tpbench::cuda
