#pragma once
// `tpbench recommend`'s search: every layout of N GPUs (layout_space), each layout's
// concurrency searched against the targets (concurrency_search), the frontier of tok/s/GPU
// against tok/s/user over all of them, the winner and the runner-up. Layouts are compared per GPU
// of the N given (output tok/s / N): a layout that leaves GPUs idle is charged for them, and one
// that uses all N is compared at its tok/s/GPU.
#include <functional>
#include <string>
#include <vector>

#include "harness/recommend/concurrency_search.hpp"
#include "harness/recommend/layout_space.hpp"

namespace tpbench {

struct RecommendSpec {
  int gpus = 8;
  int nvlink_domain = 8;          // the largest instance (GPUs of one NVLink domain)
  bool disaggregated = true;      // also weigh PD layouts
  int max_concurrency = 256;      // of the whole deployment
  int64_t isl = 10000, osl = 1000;
  int prompts_per_user = 10;
  double kv_link_bandwidth = 0;   // <= 0: the profile's
  StepScheme scheme;
  Targets targets;
  int jobs = 1;                   // layouts simulated at once
  // Called after each layout's search with (done, total, layout name); may be empty.
  std::function<void(int, int, const std::string&)> progress;
};

struct LayoutOutcome {
  Layout layout;
  SearchResult search;
  const ServingPoint* best() const {
    return search.best >= 0 ? &search.points[size_t(search.best)] : nullptr;
  }
};

struct FrontierPoint {
  int layout = 0, point = 0;  // indices into Recommendation::layouts and its search points
};

struct Recommendation {
  std::vector<SizeCheck> sizes;
  std::vector<LayoutOutcome> layouts;
  std::vector<FrontierPoint> frontier;  // output tok/s / N against tok/s/user; by tok/s/user, descending
  int winner = -1, runner_up = -1;      // indices into layouts; -1: none meets the targets
  // When none meets: the layout whose concurrency-1 point comes closest (smallest worst ratio)
  // and the target that binds there.
  int closest = -1;
  TargetRatio binding{TargetKind::Ttft, 0.0};
  const ServingPoint& point(const FrontierPoint& f) const {
    return layouts[size_t(f.layout)].search.points[size_t(f.point)];
  }
};

// Throws UsageError when no instance size fits (the reason names every size tried) or the
// inputs are out of range.
Recommendation recommend(const ModelSpec& m, const SystemProfile& prof, const PerfParams& par, const RecommendSpec& s);

// Indices of the points no other point beats on both axes (x and y larger is better; a point
// equal on both to an earlier one is left out), ordered by x descending.
std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& xy);

}  // namespace tpbench
