#include "harness/recommend/concurrency_search.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "harness/common/error.hpp"

namespace tpbench {
namespace {

// Latencies of two simulated points, checked against the monotonicity assumption.
void check_monotone(const ServingPoint& lo, const ServingPoint& hi, const Targets& t, std::vector<std::string>& notes) {
  auto drop = [&](const char* what, double a, double b) {
    if (a > 0 && b < a * (1.0 - kMonotoneTolerance)) {
      char line[200];
      std::snprintf(line, sizeof line, "%s: %s falls from %.4g at C=%d to %.4g at C=%d", lo.layout.c_str(), what, a,
                    lo.concurrency, b, hi.concurrency);
      notes.push_back(line);
    }
  };
  // Only the targeted metrics: the search relies on nothing else (TTFT, for one, dips at low
  // concurrency on PD layouts, where prompts that arrive together share prefill steps).
  if (t.ttft_s > 0) drop("TTFT s", lo.ttft_s, hi.ttft_s);
  if (t.tpot_s > 0) drop("TPOT s", lo.tpot_s, hi.tpot_s);
  // The per-user rate must not rise: its inverse must not fall.
  const double ulo = per_user_rate(lo, t.per_user), uhi = per_user_rate(hi, t.per_user);
  if (t.min_tokens_per_user > 0 && ulo > 0 && uhi > 0) drop("1 / (tok/s/user)", 1.0 / ulo, 1.0 / uhi);
}

}  // namespace

const char* target_name(TargetKind k) {
  switch (k) {
    case TargetKind::Ttft: return "TTFT";
    case TargetKind::Tpot: return "TPOT";
    case TargetKind::TokensPerUser: return "tok/s/user";
  }
  return "?";
}


double per_user_rate(const ServingPoint& p, PerUserMetric m) {
  return m == PerUserMetric::InvTpot ? p.per_user_inv_tpot : p.per_user_out_div_conc;
}

std::vector<TargetRatio> target_ratios(const ServingPoint& p, const Targets& t) {
  std::vector<TargetRatio> out;
  if (t.ttft_s > 0) out.push_back({TargetKind::Ttft, p.ttft_s / t.ttft_s});
  if (t.tpot_s > 0) out.push_back({TargetKind::Tpot, p.tpot_s / t.tpot_s});
  if (t.min_tokens_per_user > 0) {
    const double u = per_user_rate(p, t.per_user);
    out.push_back({TargetKind::TokensPerUser, u > 0 ? t.min_tokens_per_user / u : 1e300});
  }
  return out;
}

bool meets_targets(const ServingPoint& p, const Targets& t) {
  if (!p.feasible) return false;
  for (const TargetRatio& r : target_ratios(p, t))
    if (r.ratio > 1.0) return false;
  return true;
}

TargetRatio worst_target(const ServingPoint& p, const Targets& t) {
  TargetRatio worst{TargetKind::Ttft, 0.0};
  for (const TargetRatio& r : target_ratios(p, t))
    if (r.ratio > worst.ratio) worst = r;
  return worst;
}

std::vector<int> concurrency_grid(int max_concurrency) {
  std::vector<int> g;
  for (int c = 1; c < max_concurrency; c *= 2) g.push_back(c);
  g.push_back(max_concurrency);
  return g;
}

bool kv_saturated(const ServingPoint& p, int64_t max_num_seqs) {
  const PoolReport& d = p.main;
  const double cap = double(std::min(d.kv_max_sequences, max_num_seqs));
  if (!p.feasible || cap < 1 || d.instances < 1 || d.stats.busy_s <= 0) return false;
  const double batch = d.stats.decode_seq_s / d.stats.busy_s;  // per instance (both sums are over them)
  return batch >= 0.9 * cap && double(p.concurrency) >= 2.0 * cap * d.instances;
}

SearchResult search_concurrency(const SimulateAt& simulate, const Targets& t, int max_concurrency,
                                const SaturatedAt& saturated) {
  if (max_concurrency < 1) throw UsageError("the largest concurrency searched must be >= 1");
  SearchResult r;
  std::map<int, ServingPoint> seen;
  auto at = [&](int c) -> const ServingPoint& {
    auto it = seen.find(c);
    if (it == seen.end()) it = seen.emplace(c, simulate(c)).first;
    return it->second;
  };
  // Memory does not depend on concurrency: a layout that does not fit at 1 fits nowhere.
  if (!at(1).feasible) {
    r.feasible = false;
    r.points.push_back(seen.at(1));
    return r;
  }
  int lo = 0, hi = 0;  // the last grid point meeting the targets and the next one
  for (int c : concurrency_grid(max_concurrency)) {
    if (meets_targets(at(c), t)) {
      lo = c;
      hi = 0;
    } else if (hi == 0) {
      hi = c;
    }
    if (saturated && saturated(at(c))) {
      r.saturated_at = c;
      break;
    }
  }
  if (lo > 0 && hi > lo) {
    while (hi - lo > 1) {
      const int mid = lo + (hi - lo) / 2;
      (meets_targets(at(mid), t) ? lo : hi) = mid;
    }
  }
  r.max_meeting_concurrency = lo;
  r.first_missing_concurrency = hi > lo ? hi : 0;
  if (lo == 0) r.first_missing_concurrency = 1;
  for (auto& [c, p] : seen) r.points.push_back(p);
  for (size_t i = 0; i < r.points.size(); ++i) {
    const ServingPoint& p = r.points[i];
    if (i > 0) check_monotone(r.points[i - 1], p, t, r.monotonicity_notes);
    if (!meets_targets(p, t) && p.concurrency < lo)
      r.monotonicity_notes.push_back(p.layout + ": misses the targets at C=" + std::to_string(p.concurrency) +
                                     " but meets them at C=" + std::to_string(lo));
    if (meets_targets(p, t) && p.concurrency <= lo &&
        (r.best < 0 || p.tokens_per_s_per_gpu > r.points[size_t(r.best)].tokens_per_s_per_gpu))
      r.best = int(i);
  }
  return r;
}

}  // namespace tpbench
