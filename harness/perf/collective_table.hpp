#pragma once
// Size-aware collective time tables: seconds per (operation, group size, message size),
// interpolated linearly in log(bytes)-log(seconds). A single alpha-beta line is 35-55 %
// optimistic at 1-16 MiB on H100 NVLink (the sources in default_profiles.cpp), so the model never
// uses one.
//
// Message sizes are counted as nccl-tests counts them: all_reduce = the buffer size;
// all_gather = the gathered (output) size; reduce_scatter = the input size; all_to_all = one
// rank's send buffer (a part per peer).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "collectives/bandwidth.hpp"  // busbw_factor
#include "collectives/collective_kind.hpp"

namespace tpbench {



// One curve: (bytes, seconds) points sorted by bytes, bytes > 0, seconds > 0.
using CollectiveCurve = std::vector<std::pair<double, double>>;

class CollectiveTable {
 public:
  // Adds (or replaces) one curve; throws UsageError when a point is not positive or the
  // sizes are not strictly increasing after sorting (duplicate sizes).
  void set_curve(CollectiveKind op, int group, CollectiveCurve curve);
  bool has(CollectiveKind op, int group) const;
  // Time of one collective. group <= 1 costs nothing. Below the smallest size the time is the
  // smallest point's (latency floor); above the largest it grows linearly with bytes (the
  // bandwidth of the last point). A group size not in the table uses the nearest larger one
  // (or the largest available), which is pessimistic for smaller groups.
  double time_s(CollectiveKind op, int group, double bytes) const;
  const std::map<CollectiveKind, std::map<int, CollectiveCurve>>& curves() const { return curves_; }
  bool empty() const { return curves_.empty(); }

 private:
  std::map<CollectiveKind, std::map<int, CollectiveCurve>> curves_;
};

// Log-log interpolation on one curve (exposed for tests).
double interpolate_loglog(const CollectiveCurve& curve, double bytes);

}  // namespace tpbench
