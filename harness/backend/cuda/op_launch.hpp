#pragma once
// Enqueues one non-collective op of a StepProgram on a stream: GEMMs through the GemmRunner
// (cuBLASLt, or the skinny kernel where it measured faster), attention through the
// AttentionRunner (the kernel chosen per shape), elementwise ops through kernels/, the
// mixture-of-experts ops through the MoeRunner. Everything is graph-capturable.
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <vector>

#include "harness/backend/cuda/gemm_runner.hpp"
#include "harness/plan/step_program.hpp"
#include "kernels/reference_ops.hpp"

namespace tpbench::cuda {

class AttentionRunner;
class Fp8GemmRunner;
class MoeRunner;

// What a GEMM on an FP8 weight needs beside the buffers (harness/backend/fp8_gemm_plan.hpp).
struct Fp8GemmContext {
  Fp8GemmRunner* runner = nullptr;
  __nv_fp8_e4m3* input = nullptr;        // staging for the quantized input, m x k (ld k)
  const float* scales = nullptr;         // device: Fp8GemmPlan::scales
  const std::vector<int>* scale_index = nullptr;  // per buffer: its scale in `scales`
};

struct OpContext {
  // Device pointer per program buffer, typed BF16; an FP8 buffer's is its bytes (fp8_ptr).
  const std::vector<__nv_bfloat16*>* buffers = nullptr;
  GemmRunner* gemm = nullptr;
  AttentionRunner* attention = nullptr;
  const Fp8GemmContext* fp8 = nullptr;  // set when the program has FP8 GEMMs
  MoeRunner* moe = nullptr;             // set when the program has mixture-of-experts ops
};

void launch_compute_op(const Op& op, const OpContext& ctx, cudaStream_t s);

// The kernels' description of an attention op's shape.
kernels::AttentionDims attention_dims(const AttentionShape& s);

inline __nv_bfloat16* view_ptr(const OpContext& ctx, const View& v) {
  return (*ctx.buffers)[v.buffer] + v.offset;
}

// A view of an FP8 buffer (one byte an element).
inline __nv_fp8_e4m3* fp8_ptr(const OpContext& ctx, const View& v) {
  return reinterpret_cast<__nv_fp8_e4m3*>((*ctx.buffers)[v.buffer]) + v.offset;
}

}  // namespace tpbench::cuda
