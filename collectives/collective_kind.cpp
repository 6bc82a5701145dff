#include "collectives/collective_kind.hpp"

#include "harness/common/error.hpp"

namespace tpbench {

const char* collective_name(CollectiveKind k) {
  switch (k) {
    case CollectiveKind::AllReduce: return "all_reduce";
    case CollectiveKind::AllGather: return "all_gather";
    case CollectiveKind::ReduceScatter: return "reduce_scatter";
  }
  return "?";
}

CollectiveKind parse_collective_kind(const std::string& name) {
  std::string s;
  for (char c : name) s += (c == '-') ? '_' : c;
  if (s == "all_reduce" || s == "allreduce") return CollectiveKind::AllReduce;
  if (s == "all_gather" || s == "allgather") return CollectiveKind::AllGather;
  if (s == "reduce_scatter" || s == "reducescatter") return CollectiveKind::ReduceScatter;
  throw UsageError("unknown collective '" + name + "' (expected all_reduce, all_gather or reduce_scatter)");
}

}  // namespace tpbench
