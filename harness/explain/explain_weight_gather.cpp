// The weight-gather question in `tpbench explain`: where does weight-gather with prefetch (every GPU
// stores 1/N of each layer and gathers the next layer while it computes this one on its own
// requests) beat or lose to Megatron TP, at the scale of the reference, and why. Every number
// comes from the cost model pricing the two plans' ops, and from the simulator.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "harness/explain/detail/explain_format.hpp"
#include "harness/explain/explain_report.hpp"
#include "harness/perf/kv_capacity.hpp"
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
void anatomy_row(Table& table, const char* scheme, const StepCostModel& cm, const StepWork& w, double tokens) {
  const StepCost c = cm.step(w);
  const StepTotals t = cm.totals_at(w);
  const double per_rank = cm.scheme().plan == PlanKind::WeightGather ? std::ceil(w.seqs() / cm.tp()) : w.seqs();
  const double gathered = cm.scheme().plan == PlanKind::WeightGather
                              ? t.collective_message_bytes[size_t(CollectiveKind::AllGather)] * (cm.tp() - 1) / cm.tp()
                              : 0.0;
  table.add_row({scheme, cm.tp(), fmt("%.0f", per_rank), fmt("%.1f", t.weight_bytes / 1e9), fmt("%.1f", gathered / 1e9),
                 fmt("%.1f", c.collective_s * 1e3), fmt("%.1f", c.exposed_collective_s * 1e3), fmt("%.1f", c.total_s * 1e3),
                 fmt("%.1f", tokens / (c.total_s * cm.tp()))});
}

// A row naming the steps of the rows below it, its other cells empty.
void section_row(Table& table, const std::string& label) {
  std::vector<Cell> cells(table.columns.size(), Cell::na());
  cells[0] = label;
  table.add_row(std::move(cells));
}

// Serving: the same concurrencies for each plan, and how many points each wins.
std::string serving_comparison(const ExplainInputs& in) {
  const PerfParams par;
  std::ostringstream md;
  md << "Serving (closed loop, ISL " << in.isl << " / OSL " << in.osl << "), tok/s/GPU:\n\n";
  const std::vector<int> conc = {1, 8, 32, 64, 128, 256};
  std::vector<std::string> headers{"config", "plan"};
  for (int c : conc) headers.push_back("C=" + std::to_string(c));
  Table serving = detail::report_table(headers);
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
      std::vector<Cell> cells{"1R-TP" + std::to_string(tp), row == &a ? "tp" : "weight-gather"};
      for (const auto& p : *row) cells.push_back(p.feasible ? fmt("%.1f", p.tokens_per_s_per_gpu) : "-");
      serving.add_row(std::move(cells));
      if (!row->empty() && !row->front().feasible)
        infeasible += "; 1R-TP" + std::to_string(tp) + " " + (row == &a ? "tp" : "weight-gather") + ": " +
                      row->front().reason;
    }
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i].feasible && b[i].feasible) {
        ++points;
        wins += b[i].tokens_per_s_per_gpu > a[i].tokens_per_s_per_gpu;
      }
  }
  md << detail::markdown(serving);
  if (!infeasible.empty()) md << "\n(-: does not fit" << infeasible << ".)\n";
  md << "\nWeight-gather serves more tok/s/GPU than tp at " << wins << " of " << points
     << " points where both fit. Every engine step decodes one token for each running request beside the prompt "
        "chunks being prefilled, so "
     << (wins * 2 < points ? "the decode side of the comparison above weighs most" : "the prefill side weighs most")
     << " in serving.\n";
  return md.str();
}

// Tokens a rank must compute per layer for its GEMMs to take as long as the gather of the next
// layer: below it the gather is exposed, above it prefetch hides it. NaN without an inner layer.
double break_even_tokens(const StepCostModel& gather) {
  const RankProgram& t = gather.template_program();
  const int layer = int(std::min<int64_t>(2, gather.template_layers() - 1));
  double gather_s = 0, flops_per_token = 0;
  const StepWork one = decode_work(1, 1);
  for (const Op& op : t.ops) {
    if (op.layer != layer || layer < 1) continue;
    const Op sized = op_at(op, one, double(dtype_bytes(gather.model().dtype)));
    if (op.kind == OpKind::Collective) gather_s = gather.price(sized).seconds;
    if (op.kind == OpKind::Gemm) flops_per_token += sized.flops;
  }
  const double rate = gather.model_profile().matmul_flops;  // large GEMMs: compute bound at full rate
  return flops_per_token > 0 && gather_s > 0 ? gather_s / (flops_per_token / rate) : NAN;
}

// One TP size: the step anatomy rows and the numbers the verdicts are made of.
struct TpVerdict {
  int tp = 0;
  double decode_ratio = 0, decode_exposed = 0;    // weight-gather / tp step time; exposed share
  double prefill_ratio = 0, prefill_exposed = 0;
  double break_even = NAN, decodes_per_rank = 0, prefill_tokens_per_rank = 0;
  int64_t tp_seqs = 0, gather_seqs = 0;           // KV room in sequences of ISL + OSL
};

TpVerdict anatomy(Table& table, const ExplainInputs& in, int tp, double batch) {
  const PerfParams par;
  const StepCostModel a(in.model, tp, in.profile, par, kTp), g(in.model, tp, in.profile, par, kGather);
  TpVerdict v;
  v.tp = tp;
  v.tp_seqs = kv_capacity(in.model, tp, in.profile, par, kTp).max_sequences(in.isl + in.osl);
  v.gather_seqs = kv_capacity(in.model, tp, in.profile, par, kGather).max_sequences(in.isl + in.osl);
  const StepWork dec = decode_work(batch, double(in.isl + in.osl / 2)), pre = prefill_work(8192, tp);
  auto note = [&](int64_t seqs) { return batch > double(seqs) ? " (more than its KV room)" : ""; };
  section_row(table, "**TP" + std::to_string(tp) + ", decode B=" + fmt("%.0f", batch) + "**");
  anatomy_row(table, (std::string("tp") + note(v.tp_seqs)).c_str(), a, dec, batch);
  anatomy_row(table, (std::string("weight-gather") + note(v.gather_seqs)).c_str(), g, dec, batch);
  section_row(table, "**TP" + std::to_string(tp) + ", prefill 8192 tokens**");
  anatomy_row(table, "tp", a, pre, 8192);
  anatomy_row(table, "weight-gather", g, pre, 8192);
  const StepCost ad = a.step(dec), gd = g.step(dec), ap = a.step(pre), gp = g.step(pre);
  v.decode_ratio = gd.total_s / ad.total_s;
  v.decode_exposed = gd.exposed_collective_s / gd.total_s;
  v.prefill_ratio = gp.total_s / ap.total_s;
  v.prefill_exposed = gp.exposed_collective_s / gp.total_s;
  v.break_even = break_even_tokens(g);
  v.decodes_per_rank = std::ceil(double(par.max_num_seqs) / tp);
  v.prefill_tokens_per_rank = 8192.0 / tp;
  return v;
}

std::string pct(double x) { return fmt("%.0f %%", 100 * x); }

void verdict_line(std::ostringstream& md, const TpVerdict& v, double batch) {
  md << "- TP" << v.tp << ": a decode step of " << fmt("%.0f", batch) << " takes " << fmt("%.2f", v.decode_ratio)
     << "x tp's time with weight-gather (" << (v.decode_ratio > 1 ? "tp wins" : "weight-gather wins")
     << "; its gathers exposed for " << pct(v.decode_exposed) << " of the step); the prefill step "
     << fmt("%.2f", v.prefill_ratio) << "x (" << (v.prefill_ratio > 1 ? "tp wins" : "weight-gather wins")
     << "; gathers exposed for " << pct(v.prefill_exposed) << ").";
  if (std::isfinite(v.break_even))
    md << " Prefetch hides a layer's gather once a rank computes about " << fmt("%.0f", v.break_even)
       << " tokens per layer: a rank decodes at most " << fmt("%.0f", v.decodes_per_rank) << " requests (max_num_seqs"
       << " over " << v.tp << " ranks) and prefills " << fmt("%.0f", v.prefill_tokens_per_rank) << " tokens here.";
  if (v.gather_seqs < 1) md << " Weight-gather at TP" << v.tp << " has no KV room for one sequence of this workload.";
  md << "\n";
}

// Why, from the verdicts: which of decode and prefill each plan wins, and what the gathers cost.
void why(std::ostringstream& md, const std::vector<TpVerdict>& vs) {
  int decode_tp = 0, prefill_gather = 0;
  for (const auto& v : vs) {
    decode_tp += v.decode_ratio > 1;
    prefill_gather += v.prefill_ratio < 1;
  }
  md << "\nWhy: in a decode step weight-gather's GPUs each read every layer's weights whole for their own requests (N "
        "times what a tp GPU reads) and receive (N-1)/N of them by all-gather; tp reads 1/N of the weights and sends "
        "an activation-sized all-reduce twice per layer. Prefetch hides a gather only while the GEMMs of the layer "
        "before take longer, i.e. above the break-even token count. tp wins the decode step at "
     << decode_tp << " of " << vs.size() << " TP sizes shown. In the prefill step the GEMMs are compute bound; "
     << "weight-gather saves tp's all-reduces of the whole token batch and the elementwise work tp repeats on every "
        "GPU, and wins it at "
     << prefill_gather << " of " << vs.size() << " (where its gathers stay exposed, below the break-even, that "
     << "saving is spent on them).\n\n";
}

}  // namespace

std::string explain_weight_gather(const ExplainInputs& in) {
  std::ostringstream md;
  md << "\n## Weight-gather with prefetch against Megatron TP\n\n";
  md << "The weight-gather scheme (`--plan weight-gather --overlap streams`): every GPU stores 1/N of each layer, all-gathers "
        "the next layer on the communication stream while it computes this one, and runs whole layers for its own "
        "ceil(B/N) requests; `tp` (`--overlap none`) is what vLLM runs. Both are the same cost model's prices of each "
        "plan's ops on "
     << in.profile.name << " (" << in.model.name << ").\n\n";
  const double batch = 64;
  md << "Decode steps of B = " << fmt("%.0f", batch) << " sequences per instance at context " << in.isl + in.osl / 2
     << ", and a prefill step of 8192 prompt tokens from N sequences (one per rank):\n\n";
  Table steps = detail::report_table({"plan", "TP", "requests per rank", "weights read GB/GPU", "gathered GB/GPU",
                                      "collectives ms", "exposed ms", "step ms", "tok/s/GPU"});
  std::vector<TpVerdict> vs;
  for (int tp : {2, 4, 8}) vs.push_back(anatomy(steps, in, tp, batch));
  md << detail::markdown(steps);
  md << "\n";
  for (const auto& v : vs) verdict_line(md, v, batch);
  why(md, vs);
  md << serving_comparison(in);
  return md.str();
}

}  // namespace tpbench
