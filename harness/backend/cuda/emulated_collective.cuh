#pragma once
// --emulate-tp: a collective that did not run is replaced by a one-block kernel that occupies
// its stream for the time the system profile predicts. It keeps the program's stream and event
// structure, so overlap with compute is emulated too (one SM is busy, as NCCL's channels are).
#include <cuda_runtime.h>

namespace tpbench::cuda {

cudaError_t emulated_collective(double seconds, cudaStream_t s);

}  // namespace tpbench::cuda
