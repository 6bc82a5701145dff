#pragma once
// Choosing between candidate kernels for one shape by timing each (the skinny GEMM against
// cuBLASLt, the project's decode attention against cuDNN's). A candidate whose timing throws
// (no engine for the shape, a launch configuration the device refuses) is skipped with its
// error kept, and the next one decides; only when none can be timed does the choice fail.
// `recover` runs after each failed candidate: on a GPU it clears the error and checks that the
// stream still works, and throws (ending the choice) when it does not, since a broken context
// fails every later candidate too. Host-only: unit-tested without a GPU.
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tpbench {

template <typename Kernel>
struct KernelCandidate {
  Kernel kernel;
  std::function<double()> time_s;  // median seconds of the kernel on the shape; may throw
};

template <typename Kernel>
struct KernelDecision {
  Kernel kernel{};                                       // the fastest that could be timed
  std::vector<std::pair<Kernel, double>> times;          // candidates timed, in order
  std::vector<std::pair<Kernel, std::string>> errors;    // candidates skipped, and why
};

// The fastest candidate; on a tie the earlier one. Throws std::runtime_error naming every
// candidate's error when none could be timed (or what `recover` threw).
template <typename Kernel>
KernelDecision<Kernel> decide_fastest(const std::vector<KernelCandidate<Kernel>>& candidates,
                                      const std::function<void()>& recover = {}) {
  KernelDecision<Kernel> d;
  std::optional<double> best;
  for (const KernelCandidate<Kernel>& c : candidates) {
    try {
      const double t = c.time_s();
      d.times.emplace_back(c.kernel, t);
      if (!best || t < *best) {
        best = t;
        d.kernel = c.kernel;
      }
    } catch (const std::exception& e) {
      d.errors.emplace_back(c.kernel, e.what());
      if (recover) recover();
    }
  }
  if (!best) {
    std::string why = "no candidate kernel could run";
    const char* separator = ": ";
    for (const auto& [k, e] : d.errors) {
      why += separator + e;
      separator = "; ";
    }
    throw std::runtime_error(why);
  }
  return d;
}

}  // namespace tpbench
