#pragma once
// HBM streaming kernels: the read and copy bandwidth ceilings that the micro-benchmarks
// (bench/) compare every kernel with and that `tpbench calibrate` writes into a system profile.
// 16-byte loads/stores with streaming cache hints over a grid that fills every SM; use buffers
// far larger than the L2 so every byte comes from HBM.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace tpbench::kernels {

// How the reads are cached: Streaming (evict-first hint: the bandwidth ceiling, no reuse) or
// Allocate (normal caching: the read lines displace what the L2 held, as an L2 flush needs).
enum class ReadCaching { Streaming, Allocate };

// Reads `bytes` bytes (a multiple of 16, 16-byte aligned) from `src`. The XOR of everything read
// is stored to *sink only when it equals a value it (almost) never has, so the loads cannot be
// optimized away and the store costs nothing. Queued on `stream`; returns the launch error.
cudaError_t stream_read(const void* src, size_t bytes, uint32_t* sink, cudaStream_t stream,
                        ReadCaching caching = ReadCaching::Streaming);

// Copies `bytes` bytes (a multiple of 16, both pointers 16-byte aligned): moves 2 x bytes.
cudaError_t stream_copy(const void* src, void* dst, size_t bytes, cudaStream_t stream);

}  // namespace tpbench::kernels
