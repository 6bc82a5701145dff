#pragma once
// The built-in profiles' pieces shared between default_profiles.cpp (Hopper) and
// other_profiles.cpp (Ampere, Blackwell).
#include <vector>

#include "harness/perf/collective_table.hpp"
#include "harness/perf/system_profile.hpp"

namespace tpbench {

// Collective tables derived from the H100 NVLink 4 all_reduce table (default_profiles.cpp):
// each group keeps the H100 latency floor (the 8-byte time) and its bandwidth term (the rest)
// is divided by the interconnect's large-message busbw relative to H100's. Groups beyond 8
// start from the 8-GPU (NVLink switch) row: their bandwidth term grows as the all_reduce
// factor 2(g-1)/g at a constant busbw, their latency by `latency_per_doubling_us` per doubling.
struct NvlinkScaling {
  std::vector<int> groups{2, 4, 8};
  double ring_ratio = 1.0;    // groups of 2 and 4 (ring), and the all_gather/reduce_scatter cap
  double switch_ratio = 1.0;  // groups of 8 and more (NVLink SHARP on H100)
  double latency_per_doubling_us = 0.0;
};
// Every table has all_reduce, all_gather, reduce_scatter and all_to_all curves; the all_to_all
// curve is the all_gather curve, for the reasons kAllToAllDerivation gives (each profile's
// "collectives" source quotes it).
CollectiveTable derived_nvlink_tables(const NvlinkScaling& s);
extern const char* const kAllToAllDerivation;

SystemProfile a100_sxm_80gb_profile();
SystemProfile b200_profile();
SystemProfile gb200_nvl72_profile();

}  // namespace tpbench
