#pragma once
// The value of every initialised element of a StepProgram, as a pure function of global
// indices. Host (CPU backend, references) and device (CUDA backend) share this header, so the
// same model yields the same numbers everywhere: a TP=N shard equals the slice of TP=1.
#include <cmath>
#include <cstdint>

#include "kernels/detail/counter_rng.hpp"

namespace tpbench::init {

enum Tag : uint64_t { kWeight = 1, kKCache = 2, kVCache = 3, kHidden = 4, kFiller = 5, kTokenId = 6 };

// Weights: uniform with variance 1/fan_in (activations stay O(1) through the layers); norm
// weights near 1. `which` is the LogicalWeight as an integer, is_norm tells the norms apart.
TPBENCH_HD float weight(uint64_t seed, int which, int layer, int64_t row, int64_t col, int64_t cols,
                        int64_t fan_in, bool is_norm) {
  const float u = rng::uniform_pm1(seed, rng::stream_id(kWeight, uint64_t(which) + 1, uint64_t(layer + 1)),
                                   uint64_t(row) * uint64_t(cols) + uint64_t(col));
  if (is_norm) return 1.0f + 0.1f * u;
  return u * sqrtf(3.0f / float(fan_in));
}

// K or V of (layer, sequence, global KV head, position, dim): unit-scale values.
TPBENCH_HD float kv(uint64_t seed, bool is_v, int layer, int64_t seq, int64_t head, int64_t pos, int64_t dim) {
  return rng::uniform_pm1(seed, rng::stream_id(is_v ? kVCache : kKCache, uint64_t(layer + 1), uint64_t(seq)),
                          (uint64_t(head) << 40) | (uint64_t(pos) << 16) | uint64_t(dim));
}

// The hidden state entering layer 0 for token t of sequence seq.
TPBENCH_HD float hidden(uint64_t seed, int64_t seq, int64_t token, int64_t col) {
  return rng::uniform_pm1(seed, rng::stream_id(kHidden, uint64_t(seq), uint64_t(token)), uint64_t(col));
}

// The token id of token t of sequence seq, in [0, vocab).
TPBENCH_HD int64_t token_id(uint64_t seed, int64_t seq, int64_t token, int64_t vocab) {
  const uint64_t bits = rng::hash3(seed, rng::stream_id(kTokenId, uint64_t(seq)), uint64_t(token)) >> 32;
  return vocab > 0 ? int64_t(bits % uint64_t(vocab)) : 0;
}

// Element col of row (seq, token) of vocab part `part` of `parts` of a vocab-parallel embedding
// lookup: the hidden value on the part whose vocabulary shard holds the token's id, else 0.
TPBENCH_HD float embedding_part(uint64_t seed, int64_t seq, int64_t token, int64_t col, int64_t vocab, int parts,
                                int part) {
  if (parts > 1 && token_id(seed, seq, token, vocab) / (vocab / parts) != part) return 0.0f;
  return hidden(seed, seq, token, col);
}

// Meaningless but defined values (padding rows, scratch buffers).
TPBENCH_HD float filler(uint64_t seed, int64_t buffer, int64_t index) {
  return rng::uniform_pm1(seed, rng::stream_id(kFiller, uint64_t(buffer)), uint64_t(index));
}

}  // namespace tpbench::init
