#include "harness/backend/stream_schedule.hpp"

namespace tpbench {

StreamSchedule schedule_streams(const RankProgram& r) {
  StreamSchedule s;
  const size_t n = r.ops.size();
  s.record_after.assign(n, -1);
  s.wait_before.assign(n, {});
  for (size_t i = 0; i < n; ++i) {
    const Op& op = r.ops[i];
    if (op.stream == StreamId::Comm) s.uses_comm_stream = true;
    for (int d : op.deps) {
      if (r.ops[d].stream == op.stream) continue;  // same stream: ordered already
      if (s.record_after[d] < 0) s.record_after[d] = s.events++;
      s.wait_before[i].push_back(s.record_after[d]);
    }
  }
  return s;
}

bool skipped(const Op& op, Variant v) {
  const bool comm = op.kind == OpKind::Collective;
  return (v == Variant::ComputeOnly && comm) || (v == Variant::CommOnly && !comm);
}

}  // namespace tpbench
