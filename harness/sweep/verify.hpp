#pragma once
// --verify: the TP=N output of a reduced step (at most two layers) against the unsharded TP=1
// output of the same step, relative L2 error of the logits.
#include <map>
#include <tuple>
#include <vector>

#include "harness/backend/backend.hpp"

namespace tpbench {

struct VerifyResult {
  bool passed = false;
  double rel_l2 = 0, tolerance = 0;
};

double relative_l2(const std::vector<float>& got, const std::vector<float>& want);

class Verifier {
 public:
  // FP32 on the cpu backend: 1e-5; BF16 on GPUs: 2e-2.
  Verifier(const ModelSpec& m, double tolerance) : model_(m), tolerance_(tolerance) {}
  VerifyResult check(Backend& backend, const StepConfig& config);

 private:
  static StepConfig reduced(const ModelSpec& m, StepConfig c);
  const std::vector<float>& reference(Backend& backend, const StepConfig& reduced);
  ModelSpec model_;
  double tolerance_;
  // TP=1 logits per (phase, batch, context, chunk, layers): computed once per sweep.
  std::map<std::tuple<int, int64_t, int64_t, int64_t, int64_t>, std::vector<float>> references_;
};

}  // namespace tpbench
