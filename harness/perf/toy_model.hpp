#pragma once
// The toy model of a serving curve on N GPUs: every user gets 1/tau tokens/s while
// fewer than alpha x N requests run (segment AB: per-GPU throughput C / (tau N), linear in C);
// beyond that the engine is full (segment BC: per-GPU throughput alpha / tau, flat; per-user
// alpha N / (tau C)). fit_toy() finds tau and alpha for any curve and says where it fails.
#include <string>
#include <vector>

namespace tpbench {

struct ToyModel {
  double tau = 0;    // seconds per token per user on AB (the TPOT)
  double alpha = 0;  // running requests per GPU at the knee B
  double per_gpu(double c, int n) const;
  double per_user(double c, int n) const;
};

struct ToyPoint {
  double concurrency = 0;
  double tokens_per_s_per_gpu = 0;
};

struct ToyResidual {
  double concurrency = 0, measured = 0, model = 0, rel_error = 0;  // rel_error = model/measured - 1
  bool on_ab = true;                                              // C <= alpha N
};

// Where the fitted knee (C = alpha N) lies against the curve's concurrencies. A curve wholly on
// AB fits any knee at or past its last point: only tau is determined, and alpha is a lower bound
// (reported at its least value, the last concurrency / N). A curve wholly on BC fits any knee at or
// before its first point: only the plateau alpha / tau is determined (reported with alpha at its
// greatest value, the first concurrency / N, and tau to match).
enum class ToyKnee { Within, AboveData, BelowData };

struct ToyFit {
  ToyModel model;
  ToyKnee knee = ToyKnee::Within;
  std::vector<ToyResidual> residuals;
  double rms_log_error = 0;
  double max_abs_rel_error = 0;
  // Human-readable: which points miss by more than `tolerance` and on which segment.
  std::string failures(double tolerance) const;
};

// Least squares in log(tok/s/GPU) over the points; n = GPUs of the configuration. For a given
// alpha the best log(tau) is a mean, so the fit scans alpha (log-spaced) and refines.
// Throws UsageError with fewer than two points or non-positive values.
ToyFit fit_toy(const std::vector<ToyPoint>& pts, int n);

}  // namespace tpbench
