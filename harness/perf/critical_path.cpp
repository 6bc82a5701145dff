#include "harness/perf/critical_path.hpp"

#include <algorithm>

namespace tpbench {

void schedule_ops(const std::vector<Op>& ops, const std::vector<double>& duration, int begin, int end, double start,
                  std::vector<double>& finish) {
  double free_at[2] = {start, start};
  for (int i = begin; i < end; ++i) {
    const Op& op = ops[i];
    double t = free_at[int(op.stream)];
    for (int d : op.deps)
      if (d >= begin) t = std::max(t, finish[d]);  // earlier sections have joined already
    finish[i] = t + duration[i];
    free_at[int(op.stream)] = finish[i];
  }
}

double section_time(const std::vector<Op>& ops, const std::vector<double>& duration, int begin, int end) {
  std::vector<double> finish(ops.size(), 0.0);
  schedule_ops(ops, duration, begin, end, 0.0, finish);
  double t = 0;
  for (int i = begin; i < end; ++i) t = std::max(t, finish[i]);
  return t;
}

double step_critical_path(const RankProgram& r, const std::vector<double>& duration) {
  const int n = int(r.ops.size());
  return section_time(r.ops, duration, 0, r.layers_begin) + section_time(r.ops, duration, r.layers_begin, r.head_begin) +
         section_time(r.ops, duration, r.head_begin, n);
}

}  // namespace tpbench
