#include "harness/recommend/ranking_agreement.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tpbench {

double tokens_per_gpu_at(UserGpuCurve c, double u) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  c.erase(std::remove_if(c.begin(), c.end(), [](const auto& p) { return !(p.first > 0 && p.second > 0); }), c.end());
  if (c.empty() || !(u > 0)) return nan;
  std::sort(c.begin(), c.end());
  if (u < c.front().first || u > c.back().first) return nan;
  for (size_t i = 0; i + 1 < c.size(); ++i) {
    const auto &a = c[i], &b = c[i + 1];
    if (u < a.first || u > b.first) continue;
    if (b.first == a.first) return std::max(a.second, b.second);
    const double t = std::log(u / a.first) / std::log(b.first / a.first);
    return std::exp(std::log(a.second) + t * std::log(b.second / a.second));
  }
  return c.front().second;  // a single point, at exactly its level
}

double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = std::min(a.size(), b.size());
  double concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      const double da = a[i] - a[j], db = b[i] - b[j];
      if (da == 0 && db == 0) continue;
      if (da == 0) ++ties_a;
      else if (db == 0) ++ties_b;
      else if ((da > 0) == (db > 0)) ++concordant;
      else ++discordant;
    }
  const double denom = std::sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b));
  return denom > 0 ? (concordant - discordant) / denom : std::numeric_limits<double>::quiet_NaN();
}

std::vector<LevelAgreement> ranking_agreement(const std::map<std::string, UserGpuCurve>& measured,
                                              const std::map<std::string, UserGpuCurve>& predicted,
                                              const std::vector<double>& levels, size_t min_configs) {
  std::vector<LevelAgreement> out;
  for (double u : levels) {
    LevelAgreement l;
    l.per_user = u;
    for (const auto& [cfg, curve] : measured) {
      auto it = predicted.find(cfg);
      if (it == predicted.end()) continue;
      const double m = tokens_per_gpu_at(curve, u), p = tokens_per_gpu_at(it->second, u);
      if (std::isnan(m) || std::isnan(p)) continue;
      l.configs.push_back(cfg);
      l.measured.push_back(m);
      l.predicted.push_back(p);
    }
    if (l.configs.size() < std::max<size_t>(2, min_configs)) continue;
    l.tau = kendall_tau_b(l.measured, l.predicted);
    auto best = [&](const std::vector<double>& v) {
      return l.configs[size_t(std::max_element(v.begin(), v.end()) - v.begin())];
    };
    l.measured_best = best(l.measured);
    l.predicted_best = best(l.predicted);
    out.push_back(l);
  }
  return out;
}

std::vector<double> per_user_levels(const std::map<std::string, UserGpuCurve>& measured) {
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const auto& [cfg, curve] : measured)
    for (const auto& [u, g] : curve)
      if (u > 0) {
        lo = std::min(lo, u);
        hi = std::max(hi, u);
      }
  std::vector<double> out;
  if (!(hi > 0)) return out;
  for (double decade = std::pow(10.0, std::floor(std::log10(lo))); decade <= hi; decade *= 10)
    for (double step : {1.0, 2.0, 3.0, 5.0, 7.0})
      if (decade * step >= lo && decade * step <= hi) out.push_back(decade * step);
  return out;
}

}  // namespace tpbench
