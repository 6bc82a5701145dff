#include "harness/recommend/why_experts.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "harness/perf/kv_capacity.hpp"
#include "harness/plan/moe_routing.hpp"
#include "harness/plan/op_cost.hpp"

#include "harness/common/text.hpp"

namespace tpbench {
namespace {

std::string fmt(const char* f, double v) { return format_double(f, v); }

std::string gib(double bytes) {
  return bytes >= double(1ull << 30) ? fmt("%.2f GiB", bytes / double(1ull << 30)) : fmt("%.2f MiB", bytes / double(1ull << 20));
}

double mean_decode_batch(const PoolReport& r) {
  return r.stats.busy_s > 0 ? r.stats.decode_seq_s / r.stats.busy_s : 0.0;
}

std::string facts_line(const std::string& layout, const ExpertStepFacts& f, int64_t experts, int64_t moe_layers) {
  std::string s = layout + ", a decode step of " + fmt("%.1f", f.batch) + " sequences per instance: each GPU holds ";
  if (f.ep > 1)
    s += fmt("%.0f", f.experts_held) + " of the " + std::to_string(experts) + " experts per layer" +
         (f.tp > f.ep ? " (a 1/" + std::to_string(f.tp / f.ep) + " slice of each)" : "") + " and touches " +
         fmt("%.1f", f.experts_touched) + " of them";
  else
    s += (f.tp > 1 ? "a 1/" + std::to_string(f.tp) + " slice of all " : "all ") + std::to_string(experts) +
         " experts and touches " + fmt("%.1f", f.experts_touched) + " of them";
  s += "; it streams " + gib(f.expert_weight_bytes) + " of routed-expert weights of its " + gib(f.weight_bytes) +
       " per step; ";
  if (f.ep > 1)
    s += "dispatch and return (all-to-all over " + std::to_string(f.ep) + " groups, " + std::to_string(moe_layers) +
         " layers) take " + fmt("%.3f", f.all_to_all_s * 1e3) + " ms of its " + fmt("%.3f", f.step_s * 1e3) +
         " ms step";
  else
    s += std::string(f.tp > 1 ? "no all-to-all (an all-reduce after the experts, as after a dense MLP)" : "no collectives") +
         ", a " + fmt("%.3f", f.step_s * 1e3) + " ms step";
  return s + "; weights held per GPU " + gib(f.resident_weight_bytes) + " (the rest of its memory holds KV).";
}

}  // namespace

ExpertStepFacts expert_step_facts(const ModelSpec& m, const SystemProfile& prof, const PerfParams& par,
                                  const StepScheme& scheme, int tp, int ep, double batch, double context) {
  ExpertStepFacts f;
  f.tp = tp;
  f.ep = ep;
  f.batch = std::max(1.0, batch);
  StepScheme sch = scheme;
  sch.ep = ep;
  const StepCostModel cm(m, tp, prof, par, sch);
  StepWork w;
  w.decode_seqs = f.batch;
  w.decode_ctx_tokens = f.batch * context;
  w.logits = f.batch;
  // Under EP a GPU's group holds E/ep experts and receives the tokens routed to them; under EP1
  // every GPU holds a slice of all E.
  f.experts_held = double(m.moe.experts) / ep;
  f.experts_touched = expected_distinct_experts(f.batch, m.moe.experts_per_token, m.moe.experts) / ep;
  f.weight_bytes = cm.totals_at(w).weight_bytes;
  const RankProgram& t = cm.template_program();
  std::set<int> moe_layers;
  const double eb = double(dtype_bytes(m.dtype));
  double expert_bytes = 0, a2a_s = 0;
  for (const Op& op : t.ops) {
    if (op.kind == OpKind::GroupedGemm) {
      moe_layers.insert(op.layer);
      expert_bytes += op_at(op, w, eb).weight_bytes;
    } else if (op.kind == OpKind::Collective && op.collective == CollectiveKind::AllToAll) {
      a2a_s += cm.price(op_at(op, w, eb)).seconds;
    }
  }
  const double scale = moe_layers.empty() ? 0.0 : double(m.moe_layer_count()) / double(moe_layers.size());
  f.expert_weight_bytes = expert_bytes * scale;
  f.all_to_all_s = a2a_s * scale;
  f.step_s = cm.step(w).total_s;
  f.resident_weight_bytes = plan_memory(m, tp, sch, 1).weight_bytes;
  return f;
}

std::vector<std::string> why_experts(const Recommendation& r, const ModelSpec& m, const SystemProfile& prof,
                                     const PerfParams& par, const RecommendSpec& s) {
  std::vector<std::string> out;
  if (!m.has_moe_layers() || r.winner < 0) return out;
  const double context = double(s.isl) + double(s.osl) / 2;  // a decoding request's mean context
  for (int i : {r.winner, r.runner_up}) {
    if (i < 0) continue;
    const ServingPoint& p = *r.layouts[size_t(i)].best();
    const PoolReport& pool = p.main;  // the decode pool of a PD layout
    const ExpertStepFacts f =
        expert_step_facts(m, prof, par, s.scheme, pool.tp, pool.ep, mean_decode_batch(pool), context);
    out.push_back("Experts: " + facts_line(p.layout, f, m.moe.experts, m.moe_layer_count()));
  }
  return out;
}

}  // namespace tpbench
