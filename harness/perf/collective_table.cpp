#include "harness/perf/collective_table.hpp"

#include <algorithm>
#include <cmath>

#include "harness/common/error.hpp"

namespace tpbench {

void CollectiveTable::set_curve(CollectiveKind op, int group, CollectiveCurve curve) {
  const std::string what = std::string(collective_name(op)) + " group " + std::to_string(group);
  if (group < 2) throw UsageError("collective table " + what + ": group size must be >= 2");
  if (curve.empty()) throw UsageError("collective table " + what + ": no points");
  for (const auto& [b, t] : curve)
    if (!(b > 0) || !(t > 0) || !std::isfinite(b) || !std::isfinite(t))
      throw UsageError("collective table " + what + ": bytes and seconds must be positive numbers");
  std::sort(curve.begin(), curve.end());
  for (size_t i = 1; i < curve.size(); ++i)
    if (curve[i].first == curve[i - 1].first)
      throw UsageError("collective table " + what + ": duplicate message size");
  curves_[op][group] = std::move(curve);
}

bool CollectiveTable::has(CollectiveKind op, int group) const {
  auto it = curves_.find(op);
  return it != curves_.end() && it->second.count(group) > 0;
}

double interpolate_loglog(const CollectiveCurve& c, double bytes) {
  if (bytes <= c.front().first) return c.front().second;
  if (bytes >= c.back().first) return c.back().second * bytes / c.back().first;
  auto hi = std::lower_bound(c.begin(), c.end(), std::make_pair(bytes, 0.0));
  auto lo = hi - 1;
  const double f = (std::log(bytes) - std::log(lo->first)) / (std::log(hi->first) - std::log(lo->first));
  return std::exp(std::log(lo->second) + f * (std::log(hi->second) - std::log(lo->second)));
}

double CollectiveTable::time_s(CollectiveKind op, int group, double bytes) const {
  if (group <= 1 || bytes <= 0) return 0.0;
  auto it = curves_.find(op);
  if (it == curves_.end() || it->second.empty())
    throw UsageError(std::string("profile has no ") + collective_name(op) + " table");
  const auto& by_group = it->second;
  auto g = by_group.lower_bound(group);  // exact, or the nearest larger group
  if (g == by_group.end()) --g;          // larger than any: the largest measured
  return interpolate_loglog(g->second, bytes);
}

}  // namespace tpbench
