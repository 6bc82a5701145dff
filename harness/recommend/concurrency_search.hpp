#pragma once
// Latency targets and the search, per layout, for the highest concurrency that meets them.
//
// Assumption: TTFT and TPOT do not fall as concurrency rises (and the per-user rate does not
// rise), so the concurrencies that meet the targets are 1 .. C*. The search simulates a
// doubling grid 1, 2, 4, ... (the layout's curve, which the frontier also uses), then bisects
// between the last grid point that meets the targets and the next one. The assumption is
// checked on every point simulated: a point that misses a target below one that meets it, or
// a targeted latency that falls by more than kMonotoneTolerance from one simulated concurrency
// to the next, is reported (SearchResult::monotonicity_notes), never silently bisected past.
//
// Saturation: once a point is `saturated` (its decode pool full and at least twice as many users
// as it can decode at once, see kv_saturated), more users only wait longer for admission: tok/s
// per GPU and TPOT stay where they are and TTFT grows, so no higher point can be better on either
// frontier axis or meet a target this one misses. The grid stops there (SearchResult::
// saturated_at), which spares the longest simulations of the layouts whose KV holds few requests.
#include <functional>
#include <string>
#include <vector>

#include "harness/sim/per_user_metric.hpp"
#include "harness/sim/serving_sim.hpp"

namespace tpbench {

enum class TargetKind { Ttft, Tpot, TokensPerUser };

const char* target_name(TargetKind k);          // "TTFT", "TPOT", "tok/s/user"

// Targets; a value of 0 means "no target".
struct Targets {
  double ttft_s = 0;
  double tpot_s = 0;
  double min_tokens_per_user = 0;
  PerUserMetric per_user = PerUserMetric::InvTpot;  // which per-user rate the floor and the frontier use
  bool any() const { return ttft_s > 0 || tpot_s > 0 || min_tokens_per_user > 0; }
};

double per_user_rate(const ServingPoint& p, PerUserMetric m);

// How a point stands against one target: value / limit for TTFT and TPOT, limit / value for
// the per-user floor; at most 1 meets it.
struct TargetRatio {
  TargetKind kind;
  double ratio;
};
std::vector<TargetRatio> target_ratios(const ServingPoint& p, const Targets& t);
bool meets_targets(const ServingPoint& p, const Targets& t);
// The target the point misses by the largest ratio (the one that binds); null kind when none.
TargetRatio worst_target(const ServingPoint& p, const Targets& t);

constexpr double kMonotoneTolerance = 0.05;  // relative drop of a latency tolerated between points

struct SearchResult {
  std::vector<ServingPoint> points;      // every concurrency simulated, ascending
  bool feasible = true;                  // false: the layout does not fit (points[0].reason)
  int best = -1;                         // index in points: highest tok/s/GPU meeting every target
  int max_meeting_concurrency = 0;       // 0: even concurrency 1 misses a target
  int first_missing_concurrency = 0;     // the next simulated concurrency, which misses (0: none did)
  int saturated_at = 0;                  // the grid stopped at this saturated concurrency (0: it did not)
  std::vector<std::string> monotonicity_notes;
};

using SimulateAt = std::function<ServingPoint(int concurrency)>;
using SaturatedAt = std::function<bool(const ServingPoint&)>;
// Concurrencies 1 .. max_concurrency. Throws UsageError for max_concurrency < 1.
SearchResult search_concurrency(const SimulateAt& simulate, const Targets& t, int max_concurrency,
                                const SaturatedAt& saturated = {});

// Whether the point's decode pool (an aggregated layout's replicas) is full: a mean decode batch
// of at least 90 % of what an instance can hold (its KV room for ISL+OSL requests, at most
// max_num_seqs) and at least twice that many users over the pool's instances.
bool kv_saturated(const ServingPoint& p, int64_t max_num_seqs);

// The doubling grid 1, 2, 4, ... below max_concurrency, and max_concurrency itself.
std::vector<int> concurrency_grid(int max_concurrency);

}  // namespace tpbench
