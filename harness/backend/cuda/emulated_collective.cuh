#pragma once
// --emulate-tp: a collective that did not run is replaced by kernels::occupy_stream, a one-block
// kernel that occupies its stream for the time the system profile predicts. It keeps the
// program's stream and event structure, so overlap with compute is emulated too, but
// optimistically: the wait occupies one SM and no HBM bandwidth, where NCCL's kernels take
// 16-32 CTAs and move data through HBM while the compute stream runs (points with
// --overlap streams|split say `overlap_optimistic` in the JSON).
#include <cuda_runtime.h>

namespace tpbench::cuda {

// How much longer than asked an emulated collective takes on the current device: %globaltimer
// ticks coarsely (about 1 us on some GPUs) and every kernel has a launch gap. Measured with
// events over back-to-back 20 us waits inside a CUDA graph, as the step replays them; callers
// subtract it so that 160 collectives per step do not add up to a bias. Throws
// std::runtime_error (file:line, CUDA error) on failure.
double emulated_collective_overshoot_s();

// The spin to ask of occupy_stream for a collective of `collective_s` seconds: the overshoot
// taken off, never below 0. A collective shorter than the overshoot still launches its (empty)
// wait, so it costs the overshoot, the closest the stand-in gets. Host arithmetic.
double emulated_spin_s(double collective_s, double overshoot_s);

}  // namespace tpbench::cuda
