#pragma once
// Counter-based random numbers: a value is a pure function of (seed, stream, index), the same
// on the host and on the device. This is how every weight, KV entry and input is filled, so a
// TP=N shard holds bit-identical numbers to the matching slice of the TP=1 tensor.
#include <cstdint>

#if defined(__CUDACC__)
#define TPBENCH_HD __host__ __device__ __forceinline__
#else
#define TPBENCH_HD inline
#endif

namespace tpbench::rng {

// SplitMix64 finaliser: a bijective mix with good avalanche.
TPBENCH_HD uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

TPBENCH_HD uint64_t hash3(uint64_t seed, uint64_t stream, uint64_t index) {
  return mix64(mix64(seed ^ mix64(stream)) ^ index);
}

// Uniform in [-1, 1), never exactly zero: 24 random bits, odd numerator.
TPBENCH_HD float uniform_pm1(uint64_t seed, uint64_t stream, uint64_t index) {
  const uint32_t bits = static_cast<uint32_t>(hash3(seed, stream, index) >> 40);  // 24 bits
  const int32_t odd = static_cast<int32_t>(bits | 1u) - (1 << 23);               // odd, never 0
  return static_cast<float>(odd) * (1.0f / static_cast<float>(1 << 23));
}

// Packs small indices into one stream id (fields must fit their widths).
TPBENCH_HD uint64_t stream_id(uint64_t tag, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  return (tag << 56) ^ (a << 36) ^ (b << 18) ^ c;
}

}  // namespace tpbench::rng
