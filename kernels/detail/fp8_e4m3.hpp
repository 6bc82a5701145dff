#pragma once
// FP8 E4M3 (OCP 8-bit floating point: 1 sign bit, 4 exponent bits with bias 7, 3 mantissa bits,
// no infinities; largest finite 448, smallest normal 2^-6, subnormals spaced 2^-9) with one
// scale per tensor: stored q = round_e4m3(x / scale), read back as q * scale. Host (cpu backend)
// and device (cuda backend) share these functions and the scales, so both backends store the
// same numbers and --verify compares like with like.
//
// Scales are static, a pure function of the logical tensor: the TP=N shards of a tensor use the
// TP=1 tensor's scale and round every element exactly as the unsharded run does.
//   weights  sqrt(3 / fan_in) / 448: the bound of their initial values (init_values.hpp) maps
//            to E4M3's largest value, so none saturates;
//   K, V and GEMM inputs  1.0: the static scale vLLM uses for an FP8 KV cache whose checkpoint
//            gives none; these values are O(1), inside E4M3's normal range.
#include <cmath>

#include "kernels/detail/counter_rng.hpp"  // TPBENCH_HD

namespace tpbench::fp8 {

constexpr float kE4M3Max = 448.0f;
constexpr float kActivationScale = 1.0f;

// x rounded to the nearest E4M3 value (ties to even), saturated at +-448 (what cuBLASLt and
// __nv_cvt_float_to_fp8 with __NV_SATFINITE produce). NaN stays NaN.
TPBENCH_HD float round_e4m3(float x) {
  const float a = fabsf(x);
  if (!(a == a)) return x;
  if (a >= kE4M3Max) return copysignf(kE4M3Max, x);
  int e = 0;
  frexpf(a, &e);                      // a = f x 2^e, f in [0.5, 1): a's binade is 2^(e-1)
  const int binade = e - 1 < -6 ? -6 : e - 1;  // below 2^-6: subnormals, spaced as the 2^-6 binade
  const float ulp = ldexpf(1.0f, binade - 3);  // 3 mantissa bits
  return copysignf(rintf(a / ulp) * ulp, x);   // a / ulp is exact; rintf rounds ties to even
}

// The value an FP8 tensor of this scale reads back for x.
TPBENCH_HD float quantize(float x, float scale) { return round_e4m3(x / scale) * scale; }

// Per-tensor scale of a weight whose fan-in is fan_in (see the header comment).
TPBENCH_HD float weight_scale(long long fan_in) { return sqrtf(3.0f / float(fan_in)) / kE4M3Max; }

}  // namespace tpbench::fp8
