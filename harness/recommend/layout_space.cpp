#include "harness/recommend/layout_space.hpp"

#include <algorithm>
#include <cstdio>

#include "harness/common/error.hpp"
#include "harness/perf/kv_capacity.hpp"
#include "harness/plan/plan.hpp"

namespace tpbench {
namespace {

Layout aggregated(int replicas, InstanceSize n) {
  Layout l;
  l.replicas = {replicas, n.tp, n.ep};
  return l;
}

Layout disaggregated_layout(int p, InstanceSize x, int d, InstanceSize y) {
  Layout l;
  l.disaggregated = true;
  l.prefill = {p, x.tp, x.ep};
  l.decode = {d, y.tp, y.ep};
  return l;
}

std::string gib(double bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f GiB", bytes / double(1ull << 30));
  return b;
}

// The EPs a TP-n instance of the model is checked at: 1, and for MoE layers every EP dividing
// both n and the expert count.
std::vector<int> expert_parallel_sizes(const ModelSpec& m, int tp) {
  std::vector<int> eps{1};
  if (!m.has_moe_layers()) return eps;
  for (int ep = 2; ep <= tp; ++ep)
    if (tp % ep == 0 && m.moe.experts % ep == 0) eps.push_back(ep);
  return eps;
}

SizeCheck check_size(const ModelSpec& m, const SystemProfile& prof, const PerfParams& par, StepScheme scheme,
                     int64_t isl, int64_t osl, int tp, int ep, int domain) {
  SizeCheck c;
  c.tp = tp;
  c.ep = ep;
  scheme.ep = ep;
  try {
    if (m.has_moe_layers()) {
      StepConfig cfg;
      cfg.plan = scheme.plan;
      cfg.overlap = scheme.overlap;
      cfg.tp = tp;
      cfg.ep = ep;
      validate_config(m, cfg);  // the plan's checks on the experts' and the heads' widths
    } else if (scheme.plan != PlanKind::WeightGather) {
      validate_tp(m, tp);
    }
    if (tp > 1 && tp > domain) {
      c.reason = "the profile has no collective table for " + std::to_string(tp) + " GPUs (largest: " +
                 std::to_string(domain) + ")";
    } else {
      const KvCapacity k = kv_capacity(m, tp, prof, par, scheme);
      c.kv_tokens = k.tokens;
      c.serves = k.max_sequences(isl + osl) >= 1;
      c.prefills = k.max_sequences(isl) >= 1;
      if (!c.serves)
        c.reason = "KV room for " + std::to_string(k.tokens) + " tokens, one ISL+OSL request needs " +
                   std::to_string(isl + osl) + " (per GPU: weights " + gib(k.weight_bytes) + ", reserve " +
                   gib(k.reserve_bytes) + ", budget " + gib(k.budget_bytes) + ")";
    }
  } catch (const UsageError& e) {
    c.reason = e.what();
  }
  return c;
}

}  // namespace

std::string InstanceSize::name() const { return Pool{1, tp, ep}.name(); }

std::vector<Layout> enumerate_layouts(int gpus, const InstanceSizes& sizes, bool disaggregated) {
  std::vector<Layout> out;
  std::vector<InstanceSize> serving = sizes.serving, prefill = sizes.prefill;
  std::sort(serving.begin(), serving.end());
  std::sort(prefill.begin(), prefill.end());
  serving.erase(std::unique(serving.begin(), serving.end()), serving.end());
  prefill.erase(std::unique(prefill.begin(), prefill.end()), prefill.end());
  for (InstanceSize n : serving)
    if (n.tp >= 1 && n.tp <= gpus) out.push_back(aggregated(gpus / n.tp, n));
  if (!disaggregated) return out;
  for (InstanceSize px : prefill)
    for (InstanceSize py : serving) {
      const int x = px.tp, y = py.tp;
      if (x < 1 || y < 1) continue;
      for (int a = 1; a * x + y <= gpus; ++a) {
        const int b = (gpus - a * x) / y;  // the most decode instances beside a prefill ones
        // Maximal: no room left for another decode (b is the most) nor another prefill instance.
        if (gpus - a * x - b * y >= x) continue;
        out.push_back(disaggregated_layout(a, px, b, py));
      }
    }
  return out;
}

std::vector<SizeCheck> check_instance_sizes(const ModelSpec& m, const SystemProfile& prof, const PerfParams& par,
                                            const StepScheme& scheme, int64_t isl, int64_t osl, int max_tp) {
  std::vector<SizeCheck> out;
  const int domain = profile_nvlink_domain(prof);
  for (int tp = 1; tp <= max_tp; ++tp)
    for (int ep : expert_parallel_sizes(m, tp)) out.push_back(check_size(m, prof, par, scheme, isl, osl, tp, ep, domain));
  return out;
}

InstanceSizes usable_sizes(const std::vector<SizeCheck>& checks) {
  InstanceSizes s;
  for (const SizeCheck& c : checks) {
    if (c.serves) s.serving.push_back({c.tp, c.ep});
    if (c.prefills) s.prefill.push_back({c.tp, c.ep});
  }
  return s;
}

int profile_nvlink_domain(const SystemProfile& prof) {
  int largest = 1;
  const auto& curves = prof.collectives.curves();
  auto it = curves.find(CollectiveKind::AllReduce);
  if (it != curves.end())
    for (const auto& [group, curve] : it->second) largest = std::max(largest, group);
  return largest;
}

}  // namespace tpbench
