#include "collectives/collective_kind.hpp"

#include <stdexcept>

#include "harness/common/error.hpp"

namespace tpbench {
namespace {

// Buffer shapes and the ring factors follow NCCL's API (ncclAllGather's recvbuff holds
// nranks * sendcount, ncclReduceScatter's sendbuff nranks * recvcount) and nccl-tests'
// bandwidth definitions (doc/PERFORMANCE.md: busbw = algbw * 2(n-1)/n for all-reduce,
// (n-1)/n for all-gather and reduce-scatter). all_to_all is nccl-tests' alltoall
// (src/alltoall.cu, NVIDIA/nccl-tests): grouped ncclSend/ncclRecv of `count` elements to and
// from every peer, send and receive buffers of nranks * count, size = count * nranks * type
// size, busbw = algbw * (n-1)/n (AlltoAllGetBw). nccl-tests leaves alltoall's redop column
// blank; "none" keeps the table's columns parseable, as all_gather's.
constexpr std::array<CollectiveTraits, kCollectiveKinds> kTraits = {{
    // kind, name, compact, input parts, output parts, reduces, in place, bounded by all_reduce,
    // ring passes, redop
    {CollectiveKind::AllReduce, "all_reduce", "allreduce", false, false, true, true, true, 2, "sum"},
    {CollectiveKind::AllGather, "all_gather", "allgather", false, true, false, true, true, 1, "none"},
    {CollectiveKind::ReduceScatter, "reduce_scatter", "reducescatter", true, false, true, true, true, 1, "sum"},
    {CollectiveKind::AllToAll, "all_to_all", "alltoall", true, true, false, false, false, 1, "none"},
}};

// size_t(kind) indexes arrays by kind (StepTotals): the entries must be in enum order.
constexpr bool traits_in_enum_order() {
  for (size_t i = 0; i < kTraits.size(); ++i)
    if (size_t(kTraits[i].kind) != i) return false;
  return true;
}
static_assert(traits_in_enum_order(), "kTraits must list the kinds in CollectiveKind's order");

}  // namespace

const std::array<CollectiveTraits, kCollectiveKinds>& all_collective_traits() { return kTraits; }

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
