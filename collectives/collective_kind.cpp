#include "collectives/collective_kind.hpp"

#include <stdexcept>

#include "harness/common/error.hpp"

namespace tpbench {
namespace {

// Buffer shapes and the ring factors follow NCCL's API (ncclAllGather's recvbuff holds
// nranks * sendcount, ncclReduceScatter's sendbuff nranks * recvcount) and nccl-tests'
// bandwidth definitions (doc/PERFORMANCE.md: busbw = algbw * 2(n-1)/n for all-reduce,
// (n-1)/n for all-gather and reduce-scatter).
constexpr std::array<CollectiveTraits, 3> kTraits = {{
    {CollectiveKind::AllReduce, "all_reduce", "allreduce", false, false, true, 2, "sum"},
    {CollectiveKind::AllGather, "all_gather", "allgather", false, true, false, 1, "none"},
    {CollectiveKind::ReduceScatter, "reduce_scatter", "reducescatter", true, false, true, 1, "sum"},
}};

}  // namespace

const std::array<CollectiveTraits, 3>& all_collective_traits() { return kTraits; }

const CollectiveTraits& collective_traits(CollectiveKind k) {
  for (const auto& t : kTraits)
    if (t.kind == k) return t;
  throw std::logic_error("collective kind without a traits entry");
}

const char* collective_name(CollectiveKind k) { return collective_traits(k).name; }

CollectiveKind parse_collective_kind(const std::string& name) {
  std::string s;
  for (char c : name) s += (c == '-') ? '_' : c;
  std::string expected;
  for (const auto& t : kTraits) {
    if (s == t.name || s == t.compact) return t.kind;
    expected += (expected.empty() ? "" : ", ") + std::string(t.name);
  }
  throw UsageError("unknown collective '" + name + "' (expected one of " + expected + ")");
}

}  // namespace tpbench
