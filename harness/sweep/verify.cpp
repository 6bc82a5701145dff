#include "harness/sweep/verify.hpp"

#include <algorithm>
#include <cmath>

#include "harness/plan/plan.hpp"

namespace tpbench {

double relative_l2(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = double(got[i]) - double(want[i]);
    num += d * d;
    den += double(want[i]) * double(want[i]);
  }
  if (!std::isfinite(num)) return INFINITY;
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

StepConfig Verifier::reduced(const ModelSpec& m, StepConfig c) {
  const int64_t run = c.layers > 0 ? c.layers : m.layers;
  c.layers = std::min<int64_t>(run, 2);
  return c;
}

namespace {

// prepare .. release as a scope: a step that throws still frees the backend's buffers, so the
// next point's memory check does not see them as taken.
std::vector<float> run_once(Backend& backend, const StepProgram& p) {
  struct Released {
    Backend& b;
    ~Released() { b.release(); }
  } released{backend};
  backend.prepare(p);
  backend.run(Variant::Full);
  return backend.logits();
}

}  // namespace

const std::vector<float>* Verifier::reference(Backend& backend, const StepConfig& r, std::string* why) {
  const auto key = std::make_tuple(int(r.phase), r.batch, r.context, r.chunk, r.layers);
  auto it = references_.find(key);
  if (it != references_.end()) return &it->second;
  StepConfig one = r;
  one.plan = PlanKind::TP;
  one.overlap = Overlap::None;
  one.tp = 1;
  one.ep = 1;
  const StepProgram p = build_program(model_, one);
  if (auto no = backend.cannot_run(p)) {
    *why = "TP=1 reference: " + *no;
    return nullptr;
  }
  return &references_.emplace(key, run_once(backend, p)).first->second;
}

VerifyResult Verifier::check(Backend& backend, const StepConfig& config) {
  VerifyResult v;
  v.tolerance = tolerance_;
  const StepConfig r = reduced(model_, config);
  const StepProgram p = build_program(model_, r);
  if (auto no = backend.cannot_run(p)) {
    v.not_runnable = "reduced step: " + *no;
    return v;
  }
  std::string why;
  const std::vector<float>* want = reference(backend, r, &why);
  if (!want) {
    v.not_runnable = why;
    return v;
  }
  v.rel_l2 = relative_l2(run_once(backend, p), *want);
  v.passed = v.rel_l2 <= tolerance_;
  return v;
}

}  // namespace tpbench
