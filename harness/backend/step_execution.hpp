#pragma once
// How each variant of a rank's step runs on the cuda backend: replayed CUDA graphs, or eagerly
// when its capture failed. A capture can fail where running the same ops works (an op that is
// not capturable: a library call that synchronises or allocates, a driver or library version
// that refuses a node): the variant then runs eagerly, op by op, and the point records why
// (its step times then include the launch gaps a graph removes). A capture that failed because
// the step was abandoned (a peer rank failed) or the device stopped working is the point's
// failure, not a fallback. Used by one rank's thread; host-only, unit-tested without a GPU.
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/backend/backend.hpp"

namespace tpbench {

const char* variant_name(Variant v);  // "full", "compute_only", "comm_only"

class StepExecution {
 public:
  // Neither captured nor fallen back yet: the next run captures it.
  bool needs_capture(Variant v) const { return !captured_.count(v) && !eager_.count(v); }
  bool eager(Variant v) const { return eager_.count(v) > 0; }
  void captured(Variant v) { captured_[v] = true; }
  // After the capture of `v` failed with `error`: true, and `v` runs eagerly from now on, when
  // the failure was the capture's own; false (nothing recorded) when the step was abandoned or
  // the device no longer works, which the caller reports as the step's failure.
  bool fall_back(Variant v, const std::string& error, bool step_abandoned, bool device_usable);
  // {"graphs": "captured"|"eager"|"partly eager", "graph_capture_errors": {variant: error}}
  // ({"graphs": "none"} before any run).
  nlohmann::json describe() const;

 private:
  std::map<Variant, bool> captured_;
  std::map<Variant, std::string> eager_;
};

}  // namespace tpbench
