#include "harness/backend/op_profile_plan.hpp"

#include <algorithm>

namespace tpbench {

double profile_hold_s(int ops, const ProfileBudget& b) { return b.base_s + b.per_op_s * double(std::max(ops, 0)); }

std::vector<ProfileChunk> profile_chunks(int ops, const ProfileBudget& b) {
  std::vector<ProfileChunk> out;
  const int step = std::max(b.max_ops, 1);
  for (int begin = 0; begin < ops; begin += step) {
    const int end = std::min(ops, begin + step);
    out.push_back({begin, end, profile_hold_s(end - begin, b)});
  }
  return out;
}

std::vector<double> without_event_overshoot(std::vector<double> op_s, double overshoot_s) {
  for (double& t : op_s) t = std::max(0.0, t - std::max(0.0, overshoot_s));
  return op_s;
}

ProfileBudget grown(const ProfileBudget& b) {
  ProfileBudget g = b;
  g.per_op_s = std::min(b.per_op_s * 2, std::max(b.max_per_op_s, b.per_op_s));
  return g;
}

}  // namespace tpbench
