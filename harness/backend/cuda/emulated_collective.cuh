#pragma once
// --emulate-tp: a collective that did not run is replaced by kernels::hold_stream, a one-block
// kernel that occupies its stream for the time the system profile predicts. It keeps the
// program's stream and event structure, so overlap with compute is emulated too (one SM is busy,
// as NCCL's channels are).
#include <cuda_runtime.h>

namespace tpbench::cuda {

// How much longer than asked an emulated collective takes on the current device: %globaltimer
// ticks coarsely (about 1 us on some GPUs) and every kernel has a launch gap. Measured with
// events over back-to-back 20 us waits; callers subtract it so that 160 collectives per step
// do not add up to a bias. Throws std::runtime_error (file:line, CUDA error) on failure.
double emulated_collective_overshoot_s();

}  // namespace tpbench::cuda
