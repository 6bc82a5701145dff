#include "harness/explain/explain_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "harness/explain/detail/explain_format.hpp"
#include "harness/perf/kv_capacity.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/perf/kv_capacity.hpp"
#include "harness/sim/grid.hpp"

namespace tpbench {

using detail::fmt;

GridSpec explain_grid(const ExplainInputs& in) {
  GridSpec g;
  g.isl = in.isl;
  g.scheme = in.scheme;
  g.osl = in.osl;
  std::vector<std::string> cfgs;
  std::vector<int> concs;
  for (const auto& p : in.reference.points) {
    if (std::find(cfgs.begin(), cfgs.end(), p.config) == cfgs.end()) cfgs.push_back(p.config);
    if (std::find(concs.begin(), concs.end(), p.concurrency) == concs.end()) concs.push_back(p.concurrency);
  }
  std::sort(concs.begin(), concs.end());
  for (const auto& c : cfgs) g.layouts.push_back(parse_layout(c));
  g.concurrency = concs;
  return g;
}

std::string explain_markdown(const ExplainInputs& in) {
  return explain_markdown(in, simulate_grid(explain_grid(in), in.model, in.profile, PerfParams{}));
}

std::string explain_markdown(const ExplainInputs& in, const std::vector<ServingPoint>& pts) {
  const SystemProfile& prof = in.profile;
  const ModelSpec& m = in.model;
  const ObservationSet& ref = in.reference;
  const PerfParams par;  // speed of light: nothing taken from the reference
  struct { int64_t isl, osl; std::string reference; StepScheme scheme; } o{in.isl, in.osl, ref.origin, in.scheme};
  std::map<std::pair<std::string, int>, const Observation*> refp;
  for (const auto& r : ref.points) refp[{r.config, r.concurrency}] = &r;

  std::ostringstream md;
  md << "# Why the llm-d Pareto curves look the way they do\n\n";
  md << "Model " << m.name << " (weights " << dtype_name(m.weight_dtype) << ", KV cache " << dtype_name(m.kv_dtype)
     << "), profile " << prof.name << " (" << prof.gpu << "), ISL " << o.isl << ", OSL " << o.osl
     << ", closed loop of C users with 10 x C prompts. Predictions are the profile's speed of light (no parameter taken "
        "from llm-d); *efficiency* = llm-d measured / predicted tok/s/GPU. Reference: `" << o.reference << "`.\n\n";

  md << "## Memory and step-time budget per TP instance\n\n";
  Table budget = detail::report_table({"TP", "weights/GPU GB", "KV GB/GPU", "KV tokens", "max ISL+OSL seqs",
                                       "GEMMs ms (C=1)", "collectives ms (C=1)", "overhead ms", "TPOT C=1 ms"});
  for (int tp : {2, 4, 8}) {
    const KvCapacity k = kv_capacity(m, tp, prof, par, o.scheme);
    const StepCostModel rm(m, tp, prof, par, o.scheme);
    StepShape s;
    s.decode_seqs = 1;
    s.decode_ctx_tokens = double(o.isl + o.osl / 2);
    s.logits = 1;
    const StepCost c = rm.step(s);
    budget.add_row({tp, fmt("%.1f", k.weight_bytes / 1e9), fmt("%.1f", k.kv_bytes / 1e9), k.tokens,
                    k.max_sequences(o.isl + o.osl), fmt("%.1f", c.gemm_s * 1e3), fmt("%.2f", c.collective_s * 1e3),
                    fmt("%.2f", c.overhead_s * 1e3), fmt("%.1f", c.total_s * 1e3)});
  }
  md << detail::markdown(budget);

  md << "\n## Per point: predicted vs measured, and where the time goes\n\n";
  md << "Time shares are of the busy time of the replicas (aggregated) or of the decode pool (PD); compute is GEMM "
        "time beyond the weight stream (FLOPs, and each kernel's fixed cost) plus prefill attention; collectives is "
        "their exposed time (what an overlapped plan hides behind compute is not counted twice). "
        "Batch = mean running decodes per instance; KV-blocked = share of steps in which a waiting request could not "
        "be admitted for lack of KV cache; queue = mean wait before admission (PD: also the wait for room on a decode "
        "instance).\n\n";
  Table per_point = detail::report_table({"config", "C", "pred tok/s/GPU", "llm-d tok/s/GPU", "eff.", "pred tok/s/user",
                                          "llm-d tok/s/user", "batch", "KV-blocked", "weights", "KV read", "compute",
                                          "collectives", "elementwise", "overhead", "queue s"});
  for (const auto& p : pts) {
    if (!p.feasible) {
      std::vector<Cell> cells(per_point.columns.size(), Cell::na());
      cells[0] = p.layout;
      cells[1] = p.concurrency;
      cells[2] = "not runnable: " + p.reason;
      per_point.add_row(std::move(cells));
      continue;
    }
    const auto it = refp.find({p.layout, p.concurrency});
    const double rg = it != refp.end() ? it->second->tokens_per_s_per_gpu : NAN;
    const double ru = it != refp.end() ? per_user(*it->second, ref.per_user_def) : NAN;
    const EngineStats& s = p.main.stats;
    const double busy = s.busy_s > 0 ? s.busy_s : 1;
    const double comp = std::max(0.0, s.gemm_s - s.gemm_memory_s) + s.prefill_attn_s;
    per_point.add_row({p.layout, p.concurrency, fmt("%.1f", p.tokens_per_s_per_gpu), fmt("%.1f", rg),
                       fmt("%.2f", rg / p.tokens_per_s_per_gpu),
                       fmt("%.1f", ref.per_user_def == PerUserMetric::InvTpot ? p.per_user_inv_tpot : p.per_user_out_div_conc),
                       fmt("%.1f", ru), fmt("%.1f", detail::mean_decode_batch(p)),
                       fmt("%.0f%%", 100 * s.kv_blocked_s / busy),
                       fmt("%.0f%%", 100 * std::min(s.gemm_memory_s, s.gemm_s) / busy),
                       fmt("%.0f%%", 100 * s.decode_attn_s / busy), fmt("%.0f%%", 100 * comp / busy),
                       fmt("%.0f%%", 100 * s.exposed_collective_s / busy), fmt("%.0f%%", 100 * s.elementwise_s / busy),
                       fmt("%.0f%%", 100 * s.overhead_s / busy), fmt("%.1f", p.queue_s)});
  }
  md << detail::markdown(per_point);
  md << explain_answers(in, pts, refp);
  md << explain_ranking_agreement(in, pts);
  // The weight-gather plan keeps a layer's norms in its flat weight shard, one storage type, and
  // has no mixture-of-experts form.
  if (m.has_moe_layers())
    md << "\n## Weight-gather with prefetch against Megatron TP\n\nNot applicable to " << m.name
       << ": the weight-gather plan has no mixture-of-experts form (its layers run under the tp plan only).\n";
  else if (m.weight_dtype == m.dtype)
    md << explain_weight_gather(in);
  else
    md << "\n## Weight-gather with prefetch against Megatron TP\n\nNot modelled with " << dtype_name(m.weight_dtype)
       << " weights: the weight-gather plan stores a layer's linear weights and norms in one flat shard.\n";
  return md.str();
}

}  // namespace tpbench
