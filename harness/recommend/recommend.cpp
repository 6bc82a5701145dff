#include "harness/recommend/recommend.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "harness/common/error.hpp"

namespace tpbench {
namespace {

void check_spec(const RecommendSpec& s) {
  if (s.gpus < 1 || s.gpus > 4096) throw UsageError("--gpus must be between 1 and 4096");
  if (s.nvlink_domain < 1) throw UsageError("the GPUs per NVLink domain must be >= 1");
  if (s.max_concurrency < 1) throw UsageError("--max-concurrency must be >= 1");
  const Targets& t = s.targets;
  for (double v : {t.ttft_s, t.tpot_s, t.min_tokens_per_user})
    if (!(v >= 0)) throw UsageError("latency targets must be positive numbers");
}

// "TP1: reason; TP2: reason": why no instance size can run.
std::string size_reasons(const std::vector<SizeCheck>& sizes) {
  std::string out;
  for (const SizeCheck& c : sizes) out += (out.empty() ? "" : "; ") + (InstanceSize(c.tp, c.ep).name() + ": " + c.reason);
  return out;
}

// Each layout's search, `jobs` layouts at a time (each simulation builds its own cost models).
void search_all(std::vector<LayoutOutcome>& outs, const ModelSpec& m, const SystemProfile& prof, const PerfParams& par,
                const RecommendSpec& s) {
  std::atomic<size_t> next{0};
  std::atomic<int> done{0};
  std::mutex mu;
  std::exception_ptr failure;
  auto worker = [&] {
    for (size_t i = next++; i < outs.size(); i = next++) {
      try {
        const Layout& layout = outs[i].layout;
        auto simulate = [&](int c) {
          ServingConfig cfg;
          cfg.concurrency = c;
          cfg.isl = s.isl;
          cfg.osl = s.osl;
          cfg.prompts_per_user = s.prompts_per_user;
          cfg.kv_link_bandwidth = s.kv_link_bandwidth;
          cfg.scheme = s.scheme;
          return simulate_serving(layout, m, prof, par, cfg);
        };
        auto full = [&](const ServingPoint& p) { return kv_saturated(p, par.max_num_seqs); };
        outs[i].search = search_concurrency(simulate, s.targets, s.max_concurrency, full);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failure) failure = std::current_exception();
        next = outs.size();
      }
      std::lock_guard<std::mutex> lock(mu);
      if (s.progress) s.progress(++done, int(outs.size()), outs[i].layout.name());
    }
  };
  const int jobs = std::max(1, std::min<int>(s.jobs, int(outs.size())));
  std::vector<std::thread> pool;
  for (int j = 1; j < jobs; ++j) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

// Winner and runner-up by their best point's output tok/s, that is tok/s per GPU of the N given
// (a layout that leaves GPUs idle is charged for them; where a layout uses all N, the same as
// its tok/s/GPU); ties: fewer GPUs used, then the earlier layout.
void rank_layouts(Recommendation& r) {
  std::vector<int> order;
  for (size_t i = 0; i < r.layouts.size(); ++i)
    if (r.layouts[i].best()) order.push_back(int(i));
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const ServingPoint &pa = *r.layouts[size_t(a)].best(), &pb = *r.layouts[size_t(b)].best();
    if (pa.output_tok_s != pb.output_tok_s) return pa.output_tok_s > pb.output_tok_s;
    return pa.num_gpus < pb.num_gpus;
  });
  if (!order.empty()) r.winner = order[0];
  if (order.size() > 1) r.runner_up = order[1];
}

// None meets the targets: the layout whose concurrency-1 point misses them by the least.
void find_closest(Recommendation& r, const Targets& t) {
  double best = 0;
  for (size_t i = 0; i < r.layouts.size(); ++i) {
    const SearchResult& s = r.layouts[i].search;
    if (!s.feasible || s.points.empty()) continue;
    const TargetRatio w = worst_target(s.points.front(), t);
    if (r.closest < 0 || w.ratio < best) {
      best = w.ratio;
      r.closest = int(i);
      r.binding = w;
    }
  }
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& xy) {
  std::vector<size_t> idx(xy.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  // By x descending, then y descending: a point is on the front when its y beats every y before it.
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return xy[a].first != xy[b].first ? xy[a].first > xy[b].first : xy[a].second > xy[b].second;
  });
  std::vector<size_t> out;
  for (size_t i : idx)
    if (out.empty() || xy[i].second > xy[out.back()].second) out.push_back(i);
  return out;
}

Recommendation recommend(const ModelSpec& m, const SystemProfile& prof, const PerfParams& par, const RecommendSpec& s) {
  check_spec(s);
  Recommendation r;
  const int max_tp = std::min(s.gpus, s.nvlink_domain);
  r.sizes = check_instance_sizes(m, prof, par, s.scheme, s.isl, s.osl, max_tp);
  const InstanceSizes sizes = usable_sizes(r.sizes);
  if (sizes.serving.empty())
    throw UsageError("model '" + m.name + "' fits no instance of " + std::to_string(s.gpus) + " GPU(s) of profile '" +
                     prof.name + "' (at most " + std::to_string(max_tp) + " per instance): " + size_reasons(r.sizes));
  for (const Layout& l : enumerate_layouts(s.gpus, sizes, s.disaggregated)) r.layouts.push_back({l, {}});
  search_all(r.layouts, m, prof, par, s);
  std::vector<std::pair<double, double>> xy;
  std::vector<FrontierPoint> where;
  for (size_t i = 0; i < r.layouts.size(); ++i)
    for (size_t j = 0; j < r.layouts[i].search.points.size(); ++j) {
      const ServingPoint& p = r.layouts[i].search.points[j];
      if (!p.feasible) continue;
      xy.push_back({per_user_rate(p, s.targets.per_user), p.output_tok_s / s.gpus});
      where.push_back({int(i), int(j)});
    }
  for (size_t k : pareto_front(xy)) r.frontier.push_back(where[k]);
  rank_layouts(r);
  if (r.winner < 0) find_closest(r, s.targets);
  return r;
}

}  // namespace tpbench
