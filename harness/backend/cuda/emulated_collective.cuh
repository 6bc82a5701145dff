#pragma once
// --emulate-tp: a collective that did not run is replaced by a one-block kernel that occupies
// its stream for the time the system profile predicts. It keeps the program's stream and event
// structure, so overlap with compute is emulated too (one SM is busy, as NCCL's channels are).
#include <cuda_runtime.h>

namespace tpbench::cuda {

// Keeps `s` busy on the GPU for `seconds` with that one-block kernel. Two uses: an emulated
// collective, and a hold queued just before the first event of a timed interval, which lets the
// host enqueue the whole interval before the GPU reaches that event (on a stream that starts
// idle the GPU would otherwise wait for each launch, and the host's launch latency would be
// timed as GPU work).
cudaError_t hold_stream(double seconds, cudaStream_t s);

// How much longer than asked an emulated collective takes on the current device: %globaltimer
// ticks coarsely (about 1 us on some GPUs) and every kernel has a launch gap. Measured with
// events over back-to-back 20 us waits; callers subtract it so that 160 collectives per step
// do not add up to a bias. Throws std::runtime_error (file:line, CUDA error) on failure.
double emulated_collective_overshoot_s();

}  // namespace tpbench::cuda
