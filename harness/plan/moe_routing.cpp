#include "harness/plan/moe_routing.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/detail/counter_rng.hpp"

namespace tpbench {
namespace {
constexpr uint64_t kRoutingTag = 7;  // beside the tags of kernels/detail/init_values.hpp
}

std::vector<int32_t> routed_experts(uint64_t seed, int layer, int64_t seq, int64_t position, int64_t experts,
                                    int64_t k) {
  // Partial Fisher-Yates over the expert ids: draw i picks uniformly among the experts not yet
  // chosen, so the k experts are a uniform k-subset.
  std::vector<int32_t> ids(static_cast<size_t>(experts));
  for (int64_t e = 0; e < experts; ++e) ids[size_t(e)] = int32_t(e);
  const uint64_t stream = rng::stream_id(kRoutingTag, uint64_t(layer + 1), uint64_t(seq));
  for (int64_t i = 0; i < k; ++i) {
    const uint64_t draw = rng::hash3(seed, stream, (uint64_t(position) << 8) | uint64_t(i));
    const int64_t j = i + int64_t(draw % uint64_t(experts - i));
    std::swap(ids[size_t(i)], ids[size_t(j)]);
  }
  ids.resize(size_t(k));
  return ids;
}

double expected_distinct_experts(double tokens, int64_t k, int64_t experts) {
  if (experts <= 0 || tokens <= 0) return 0;
  const double miss = 1.0 - double(k) / double(experts);
  return double(experts) * (1.0 - std::pow(miss, tokens));
}

}  // namespace tpbench
