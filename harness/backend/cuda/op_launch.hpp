#pragma once
// Enqueues one non-collective op of a StepProgram on a stream: GEMMs through the GemmRunner
// (cuBLASLt, or the skinny kernel where it measured faster), attention through the
// AttentionRunner (the kernel chosen per shape), elementwise ops through kernels/. Everything is
// graph-capturable.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <vector>

#include "harness/backend/cuda/gemm_runner.hpp"
#include "harness/plan/step_program.hpp"
#include "kernels/reference_ops.hpp"

namespace tpbench::cuda {

class AttentionRunner;

struct OpContext {
  const std::vector<__nv_bfloat16*>* buffers = nullptr;  // device pointer per program buffer
  GemmRunner* gemm = nullptr;
  AttentionRunner* attention = nullptr;
};

void launch_compute_op(const Op& op, const OpContext& ctx, cudaStream_t s);

// The kernels' description of an attention op's shape.
kernels::AttentionDims attention_dims(const AttentionShape& s);

inline __nv_bfloat16* view_ptr(const OpContext& ctx, const View& v) {
  return (*ctx.buffers)[v.buffer] + v.offset;
}

}  // namespace tpbench::cuda
