#pragma once
// A one-block kernel that keeps a stream busy for a given time on the GPU's %globaltimer.
// Two uses: queued just before the first event of a timed interval, it lets the host enqueue the
// whole interval before the GPU reaches that event (on a stream that starts idle the GPU would
// otherwise wait for each launch, and the host's launch latency would be timed as GPU work); and
// --emulate-tp's stand-in for a collective that did not run.
#include <cuda_runtime.h>

namespace tpbench::kernels {

// Queues the hold on `s`; returns the launch error. Nothing for seconds <= 0. Capturable.
cudaError_t hold_stream(double seconds, cudaStream_t s);

// The same, but the kernel is launched even for seconds <= 0 (it then returns at once): a
// stand-in for work that costs at least one kernel, whatever its predicted time.
cudaError_t occupy_stream(double seconds, cudaStream_t s);

// Long enough for the host to enqueue a few launches (cuBLASLt's host path is ~5-10 us).
inline constexpr double kLaunchHoldS = 50e-6;

}  // namespace tpbench::kernels
