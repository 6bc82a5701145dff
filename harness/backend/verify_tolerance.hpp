#pragma once
// The --verify tolerances of each backend (Backend::verify_tolerance) and their derivations.
#include "harness/model/model_spec.hpp"

namespace tpbench {

// Tolerances of the sharded logits against the unsharded ones. FP32 (cpu backend): summation
// order only. BF16 (GPUs): BF16's 8-bit mantissa. FP8 storage (E4M3, static per-tensor scales,
// kernels/detail/fp8_e4m3.hpp): every element of a shard rounds exactly as in the unsharded run,
// so E4M3's own error (at most 2^-4 of a value, half a step of its 3-bit mantissa) cancels; what
// does not is a GEMM input that the two runs computed in a different summation order (relative
// difference ~1e-7 in FP32, ~1e-3 in BF16) and that lies that close to an E4M3 rounding boundary:
// it rounds one step (2^-3 of itself) apart. In FP32 the chance per element is ~1e-7 / 2^-3 ~ 1e-6,
// so a reduced step (~1e4 rounded inputs) sees a flip now and then, and one flipped element of a
// hidden state of width H moves the logits by ~2^-3 / sqrt(H) of their norm (8e-3 at H = 256):
// two such flips at the tiny model's width, 2e-2 (wider models flip more elements but each
// moves the logits less).
// FP8 on GPUs: the activations are BF16, and a rank's partial sums are rounded to BF16 before the
// all-reduce, so a GEMM input of the sharded run differs from the unsharded one by up to one
// BF16 step, eps = 2^-8 of itself, not 1e-7. It rounds to the other E4M3 neighbour with chance
// eps / s, where s <= 2^-3 is E4M3's relative step, and is then off by s: the RMS error of a
// quantized tensor is sqrt(eps / s) x s = sqrt(eps x s) = 2^-5.5 ~ 2.2e-2 at most. A reduced step
// (2 layers) quantizes 5 tensors per layer (four GEMM inputs and the new K/V), 10 in all; their
// independent errors add in quadrature to sqrt(10) x 2.2e-2 ~ 7e-2 of the logits at most (the
// residual stream and the norms damp each, so this is an upper bound). Not yet checked on a GPU.
constexpr double kFp32VerifyTolerance = 1e-5, kBf16VerifyTolerance = 2e-2, kFp8CpuVerifyTolerance = 2e-2,
                 kFp8GpuVerifyTolerance = 7e-2;

// Whether the model stores weights or its KV cache in FP8 (the FP8 tolerances apply).
inline bool stores_fp8(const ModelSpec& m) {
  return m.weight_dtype == DType::FP8E4M3 || m.kv_dtype == DType::FP8E4M3;
}

}  // namespace tpbench
