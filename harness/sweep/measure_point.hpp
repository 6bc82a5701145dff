#pragma once
// One point of a sweep on a backend: the fit check, --verify, prepare, sampled steps, the
// exposed-communication variants and the per-op breakdown, then release. A point the backend
// refuses up front (cannot_run) or whose set-up throws NotRunnableError is "not_runnable";
// any other exception makes it "failed"; both keep the reason and the kernel choices the
// backend had made (Backend::kernel_choices) before it gave up. UsageError propagates.
#include "harness/backend/backend.hpp"
#include "harness/sweep/point.hpp"
#include "harness/sweep/sweep.hpp"
#include "harness/sweep/verify.hpp"

namespace tpbench {

Point measure_point(Backend& backend, Backend& verify_backend, const ModelSpec& m, const StepConfig& c,
                    const SweepOptions& o, Verifier& verifier);

}  // namespace tpbench
