#pragma once
// How the cuda backend runs a rank program's FP8 GEMMs, decided on the host: cuBLASLt's FP8
// kernels take the TN layout only, so an FP8 weight of k x n (row-major in the program) is
// stored transposed, w_t[n][k]; the BF16 input is quantized to E4M3 at the static activation
// scale into a staging buffer of m x k (ld k) first; each FP8 weight buffer reads back with one
// scale, its logical tensors' (kernels/detail/fp8_e4m3.hpp), so the cpu backend and the GPU
// store the same numbers.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/plan/step_program.hpp"
#include "kernels/detail/counter_rng.hpp"  // TPBENCH_HD

namespace tpbench {

struct Fp8GemmPlan {
  // Per program buffer: its index in `scales` (an FP8 weight buffer), or -1.
  std::vector<int> scale_index;
  // Per program buffer: n of the k x n matrix its GEMMs read (an FP8 weight buffer), or 0.
  std::vector<int64_t> weight_cols;
  // scales[0]: the GEMM inputs' (fp8::kActivationScale); then one per FP8 weight buffer.
  std::vector<float> scales;
  int64_t input_elements = 0;  // staging for the largest quantized input (m x k, ld k)
  int gemms = 0;               // FP8 GEMMs in the program
  // Why the program's FP8 GEMMs cannot run as planned here (a layout cuBLASLt's FP8 kernels do
  // not take), or nothing.
  std::optional<std::string> refusal;

  int64_t device_bytes() const {  // staging (one byte per element, 16-byte rounded) + scales
    return (input_elements + 15) / 16 * 16 + int64_t(scales.size() * sizeof(float));
  }
};

Fp8GemmPlan plan_fp8_gemms(const ModelSpec& m, const RankProgram& r);

// Where element `linear` of a row-major k x n weight (row linear / n, column linear % n) lives
// in its transposed storage w_t[n][k].
TPBENCH_HD int64_t transposed_index(int64_t linear, int64_t k, int64_t n) { return (linear % n) * k + linear / n; }

}  // namespace tpbench
