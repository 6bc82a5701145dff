#include "harness/sweep/collective_check.hpp"

#include "collectives/collective_driver.hpp"

namespace tpbench {

CollectiveCheck check_collectives(BackendKind backend, const std::vector<int>& tps, const std::vector<int>& gpus) {
  CollectiveCheck out;
  // Odd sizes on purpose: one element, a non-multiple of the ranks and of 16 bytes, and a
  // size large enough for NCCL's pipelined (non-latency) protocols.
  const std::vector<size_t> counts = {1, 1023, 1 << 18};
  for (int tp : tps) {
    if (tp <= 1 || out.exact_by_tp.count(tp)) continue;
    bool exact = true;
    for (const CollectiveTraits& traits : all_collective_traits()) {
      const CollectiveKind op = traits.kind;
      CollectiveRequest req;
      req.op = op;
      req.ranks = tp;
      req.counts = counts;
      req.iters = 1;
      req.warmup = 0;
      req.seed = 0x76657269;  // "veri"
      req.devices = gpus;
      auto sink = [&](size_t i, const CollectiveTiming& t) {
        exact = exact && t.wrong == 0;
        out.detail.push_back({{"op", collective_name(op)}, {"ranks", tp}, {"count", counts[i]}, {"wrong", t.wrong}});
      };
      if (backend == BackendKind::Cuda) run_collective_cuda(req, sink);
      else run_collective_cpu(req, sink);
    }
    out.exact_by_tp[tp] = exact;
  }
  return out;
}

}  // namespace tpbench
