#pragma once
// Device-side initialisation of a program's buffers with the values of
// kernels/detail/init_values.hpp: bit-identical (before BF16 rounding) to the CPU backend's.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "harness/plan/step_program.hpp"

namespace tpbench::cuda {

// Fills buffer `index` of rank program `r` (BF16, `dst` holds b.elements values).
void init_buffer(const ModelSpec& m, const RankProgram& r, int index, uint64_t seed, __nv_bfloat16* dst,
                 cudaStream_t s);

}  // namespace tpbench::cuda
