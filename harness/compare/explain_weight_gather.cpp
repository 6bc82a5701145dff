// The seed's question in `tpbench explain`: where does weight-gather with prefetch (every GPU
// stores 1/N of each layer and gathers the next layer while it computes this one on its own
// requests) beat or lose to Megatron TP, at the scale of the reference, and why. Every number
// comes from the cost model pricing the two plans' ops, and from the simulator.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "harness/compare/detail/explain_format.hpp"
#include "harness/compare/explain_report.hpp"
#include "harness/perf/step_cost_model.hpp"

namespace tpbench {
namespace {

using detail::fmt;

const StepScheme kTp{PlanKind::TP, Overlap::None, 2};
const StepScheme kGather{PlanKind::WeightGather, Overlap::Streams, 2};

StepWork decode_work(double batch, double context) {
  StepWork w;
  w.decode_seqs = w.logits = batch;
  w.decode_ctx_tokens = batch * context;
  return w;
}

// A prefill step of `tokens` prompt tokens from `seqs` sequences starting at position 0.
StepWork prefill_work(double tokens, double seqs) {
  StepWork w;
  const double c = tokens / seqs;
  w.prefill_seqs = w.logits = seqs;
  w.prefill_tokens = tokens;
  w.prefill_ctx_tokens = tokens;
  w.prefill_attn_pairs = seqs * c * (c + 1) / 2;
  return w;
}

// One row of the step anatomy: requests per rank, weight and gathered bytes per GPU, collective
// busy and exposed time, the step and its tokens per second per GPU.
void anatomy_row(std::ostringstream& md, const char* scheme, const StepCostModel& cm, const StepWork& w, double tokens) {
  const StepCost c = cm.step(w);
  const StepTotals t = cm.totals_at(w);
  const double per_rank = cm.scheme().plan == PlanKind::WeightGather ? std::ceil(w.seqs() / cm.tp()) : w.seqs();
  const double gathered = cm.scheme().plan == PlanKind::WeightGather
                              ? t.collective_message_bytes[size_t(CollectiveKind::AllGather)] * (cm.tp() - 1) / cm.tp()
                              : 0.0;
  md << "| " << scheme << " | " << cm.tp() << " | " << fmt("%.0f", per_rank) << " | " << fmt("%.1f", t.weight_bytes / 1e9)
     << " | " << fmt("%.1f", gathered / 1e9) << " | " << fmt("%.1f", c.collective_s * 1e3) << " | "
     << fmt("%.1f", c.exposed_collective_s * 1e3) << " | " << fmt("%.1f", c.total_s * 1e3) << " | "
     << fmt("%.1f", tokens / (c.total_s * cm.tp())) << " |\n";
}

// Tokens a rank must compute per layer for its GEMMs to take as long as the gather of the next
// layer: below it the gather is exposed, above it prefetch hides it.
double break_even_tokens(const StepCostModel& gather) {
  const RankProgram& t = gather.template_program();
  double gather_s = 0, flops_per_token = 0;
  const StepWork one = decode_work(1, 1);
  for (const Op& op : t.ops) {
    if (op.layer != 2) continue;
    const Op sized = op_at(op, one, double(dtype_bytes(gather.model().dtype)));
    if (op.kind == OpKind::Collective) gather_s = gather.price(sized).seconds;
    if (op.kind == OpKind::Gemm) flops_per_token += sized.flops;
  }
  const double rate = gather.model_profile().matmul_flops;  // large GEMMs: compute bound at full rate
  return flops_per_token > 0 ? gather_s / (flops_per_token / rate) : NAN;
}

}  // namespace

std::string explain_weight_gather(const ExplainInputs& in) {
  const PerfParams par;
  std::ostringstream md;
  md << "\n## Weight-gather with prefetch against Megatron TP\n\n";
  md << "The seed's scheme (`--plan weight-gather --overlap streams`): every GPU stores 1/N of each layer, all-gathers "
        "the next layer on the communication stream while it computes this one, and runs whole layers for its own "
        "ceil(B/N) requests; `tp` (`--overlap none`) is what vLLM runs. Both are the same cost model's prices of each "
        "plan's ops on "
     << in.profile.name << " (" << in.model.name << ").\n\n";
  md << "Decode steps at context " << in.isl + in.osl / 2
     << " (B sequences per instance) and a prefill step of 8192 prompt tokens from N sequences (one per rank):\n\n";
  md << "| plan | TP | requests per rank | weights read GB/GPU | gathered GB/GPU | collectives ms | exposed ms | step ms | "
        "tok/s/GPU |\n|---|---|---|---|---|---|---|---|---|\n";
  const double ctx = double(in.isl + in.osl / 2);
  struct Gap { double decode_ratio = 0, prefill_ratio = 0; };
  std::map<int, Gap> gaps;
  for (int tp : {2, 4, 8}) {
    const StepCostModel a(in.model, tp, in.profile, par, kTp), g(in.model, tp, in.profile, par, kGather);
    for (double b : {1.0, 64.0}) {
      md << "| **decode B=" << fmt("%.0f", b) << "** |||||||||\n";
      anatomy_row(md, "tp", a, decode_work(b, ctx), b);
      anatomy_row(md, "weight-gather", g, decode_work(b, ctx), b);
    }
    const StepWork pre = prefill_work(8192, tp);
    md << "| **prefill 8192 tokens** |||||||||\n";
    anatomy_row(md, "tp", a, pre, 8192);
    anatomy_row(md, "weight-gather", g, pre, 8192);
    gaps[tp] = {g.step(decode_work(64, ctx)).total_s / a.step(decode_work(64, ctx)).total_s,
                g.step(pre).total_s / a.step(pre).total_s};
  }
  md << "\n";
  for (const auto& [tp, gap] : gaps) {
    const StepCostModel g(in.model, tp, in.profile, par, kGather);
    const double even = break_even_tokens(g), decodes = std::ceil(double(par.max_num_seqs) / tp);
    md << "- TP" << tp << ": a decode step of 64 takes " << fmt("%.1f", gap.decode_ratio) << "x as long with weight-gather"
       << "; the prefill step " << fmt("%.2f", gap.prefill_ratio) << "x ("
       << (gap.prefill_ratio < 1 ? "weight-gather wins" : "tp wins") << "). Prefetch hides a layer's gather once a rank "
       << "computes about " << fmt("%.0f", even) << " tokens per layer; a rank decodes at most " << fmt("%.0f", decodes)
       << " requests (max_num_seqs " << par.max_num_seqs << " over " << tp << " ranks), so in decode the gather is "
       << (decodes < even ? "always exposed" : "hidden at the largest batches") << ".\n";
  }
  md << "\nWhy: in decode every GPU reads all of each layer's weights for its own requests (N times what a tp rank "
        "reads) and receives (N-1)/N of them over NVLink every step, so the step is bound by the gathers, which no "
        "decode batch is large enough to hide; tp reads 1/N of the weights per GPU and sends only an activation-sized "
        "all-reduce twice per layer. In a prefill step with thousands of tokens per rank the GEMMs are compute bound, "
        "the gathers hide behind them, and weight-gather saves tp's all-reduces of the whole token batch (and the "
        "elementwise work tp replicates on every GPU); whether that wins depends on those all-reduces' share of the "
        "step, in the table above.\n\n";

  // Serving: the same grid of concurrencies for each plan.
  md << "Serving (closed loop, ISL " << in.isl << " / OSL " << in.osl << "), tok/s/GPU:\n\n| config | plan |";
  const std::vector<int> conc = {1, 8, 32, 64, 128, 256};
  for (int c : conc) md << " C=" << c << " |";
  md << "\n|---|---|";
  for (size_t i = 0; i < conc.size(); ++i) md << "---|";
  md << "\n";
  int wins = 0, points = 0;
  std::string infeasible;
  for (int tp : {2, 4, 8}) {
    GridSpec g;
    g.isl = in.isl;
    g.osl = in.osl;
    g.layouts = {parse_layout("1R-TP" + std::to_string(tp))};
    g.concurrency = conc;
    g.scheme = kTp;
    const auto a = simulate_grid(g, in.model, in.profile, par);
    g.scheme = kGather;
    const auto b = simulate_grid(g, in.model, in.profile, par);
    for (const auto* row : {&a, &b}) {
      md << "| 1R-TP" << tp << " | " << (row == &a ? "tp" : "weight-gather") << " |";
      for (const auto& p : *row) md << " " << (p.feasible ? fmt("%.1f", p.tokens_per_s_per_gpu) : "-") << " |";
      md << "\n";
    }
    for (const auto* row : {&a, &b})
      if (!row->empty() && !row->front().feasible)
        infeasible += "; 1R-TP" + std::to_string(tp) + " " + (row == &a ? "tp" : "weight-gather") + ": " +
                      row->front().reason;
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i].feasible && b[i].feasible) {
        ++points;
        wins += b[i].tokens_per_s_per_gpu > a[i].tokens_per_s_per_gpu;
      }
  }
  if (!infeasible.empty()) md << "\n- : does not fit" << infeasible << ".\n";
  md << "\nWeight-gather serves more tok/s/GPU than tp at " << wins << " of " << points
     << " points. A serving step mixes the decodes of every running request with a prefill chunk of one prompt at a "
        "time, and weight-gather gives that chunk to one rank: decode sets the pace, and there tp wins.\n";
  return md.str();
}

}  // namespace tpbench
