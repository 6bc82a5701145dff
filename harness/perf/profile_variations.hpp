#pragma once
// One-at-a-time variations of a system profile's inputs across the ranges their sources give
// (or, labelled so, an assumed range where the source gives one number). `tpbench explain` uses
// them to say which conclusions of the speed-of-light model survive the uncertainty of its
// inputs, and which one input decides a close call. A variation moves one input and nothing
// else; none of them takes anything from the llm-d reference points.
#include <functional>
#include <string>
#include <vector>

#include "harness/perf/system_profile.hpp"

namespace tpbench {

struct ProfileVariation {
  std::string input;   // the profile field it moves ("matmul_flops", "collectives", ...)
  std::string label;   // what this end of the range is ("650 TFLOP/s", "x0.5")
  std::string range;   // where the range comes from (a source, or "assumed")
  std::function<void(SystemProfile&)> apply;
};

// The variations of `base`: a low and a high end per input, relative to base's own values (so
// they apply to a calibrated profile too); "TP8 collectives at TP4's bus bandwidth" only when
// base has 4- and 8-GPU curves.
std::vector<ProfileVariation> profile_variations(const SystemProfile& base);

// The 8-GPU curves no faster than the 4-GPU ones at the same bus bandwidth: nccl-tests counts
// busbw = algbw x 2(n-1)/n for all_reduce and (n-1)/n for all_gather / reduce_scatter, so equal
// busbw means t8(S) = t4(S) x (7/8)/(3/4) = 7/6 t4(S). A ring's busbw hardly depends on n; on
// 8 H100s NCCL's NVLS (NVLink SHARP) algorithm beats the ring at large messages, and this is
// the table without it. Each 8-GPU point becomes max(its time, 7/6 x the 4-GPU time at its size).
void tp8_at_tp4_bus_bandwidth(SystemProfile& p);

}  // namespace tpbench
