#pragma once
// `tpbench profile op`: one op's predicted time on a system profile and what bounds it (memory,
// compute, kernel latency, link, or a measured table), by the rule the cost model applies to
// every op of a plan, so that a user can hold the model against a micro-benchmark of their own.
#include <cstdint>
#include <ostream>
#include <string>

namespace tpbench {

struct ProfileOpOptions {
  std::string profile = "h100-sxm";
  std::string gemm;              // "M,N,K": out[M, N] = a[M, K] * w[K, N]
  int tp = 0;                    // the GEMM efficiency table of this TP (0: the pooled table)
  std::string collective;        // all_reduce, all_gather, reduce_scatter, all_to_all
  int64_t bytes = 0;             // nccl-tests size of the collective
  int ranks = 0;                 // collective group size
  std::string attention;         // decode or prefill
  int64_t batch = 1, context = 0, chunk = 0;  // attention: sequences, positions after the step, prefill tokens
  std::string heads;             // attention: "Q,KV,D" local query heads, KV heads, head dim
  bool json = false;
};

// Exactly one of --gemm, --collective, --attention; throws UsageError otherwise.
int run_profile_op(const ProfileOpOptions& o, std::ostream& out);

}  // namespace tpbench
