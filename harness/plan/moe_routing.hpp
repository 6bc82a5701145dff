#pragma once
// Which experts each token of a mixture-of-experts layer goes to, and how many distinct experts
// a step touches.
//
// Routing is drawn, not computed from the router's logits: in layer l, the token at position p of
// sequence s goes to k distinct experts drawn uniformly by the counter RNG. Uniform, independent
// routing is what the cost model assumes too, and it makes the routing a pure function of global
// indices, so that every TP/EP sharding of a step sends each token exactly where the unsharded
// step does and --verify compares like with like (a learned router's top-k can flip between
// shardings on a rounding difference). The router GEMM still runs, and its logits weigh the
// chosen experts: softmax over the k chosen logits (Mixtral; Qwen3-MoE with norm_topk_prob).
#include <cstdint>
#include <vector>

namespace tpbench {

// The k distinct experts (ids in [0, experts)) of one token, in draw order.
std::vector<int32_t> routed_experts(uint64_t seed, int layer, int64_t seq, int64_t position, int64_t experts,
                                    int64_t k);

// Expected number of distinct experts, of `experts`, that `tokens` tokens each choosing k of them
// uniformly touch: E (1 - (1 - k/E)^B) (each expert is missed by one token with probability
// 1 - k/E, independently across tokens). `tokens` may be fractional (an expected count).
double expected_distinct_experts(double tokens, int64_t k, int64_t experts);

}  // namespace tpbench
