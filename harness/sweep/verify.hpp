#pragma once
// --verify: the TP=N output of a reduced step (at most two layers) against the unsharded TP=1
// output of the same step, relative L2 error of the logits.
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "harness/backend/backend.hpp"
#include "harness/backend/verify_tolerance.hpp"

namespace tpbench {

struct VerifyResult {
  bool passed = false;
  double rel_l2 = 0, tolerance = 0;
  // Why the check could not run on this backend (the reduced step or its TP=1 reference does not
  // fit): then nothing was compared, and `passed` means nothing.
  std::optional<std::string> not_runnable;
};

double relative_l2(const std::vector<float>& got, const std::vector<float>& want);

class Verifier {
 public:
  // tolerance: Backend::verify_tolerance(m) of the backend that runs the checks.
  Verifier(const ModelSpec& m, double tolerance) : model_(m), tolerance_(tolerance) {}
  VerifyResult check(Backend& backend, const StepConfig& config);

 private:
  static StepConfig reduced(const ModelSpec& m, StepConfig c);
  // The TP=1 logits, or nullptr with `why` set when that step cannot run on `backend`.
  const std::vector<float>* reference(Backend& backend, const StepConfig& reduced, std::string* why);
  ModelSpec model_;
  double tolerance_;
  // TP=1 logits per (phase, batch, context, chunk, layers): computed once per sweep.
  std::map<std::tuple<int, int64_t, int64_t, int64_t, int64_t>, std::vector<float>> references_;
};

}  // namespace tpbench
