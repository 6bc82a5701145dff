// `tpbench explain`: reference points that beat the speed of light. A prediction built from
// datasheets and micro-benchmarks is an upper bound; a measured point more than 5 % above it
// says the run did not do what its label says (or the profile is wrong). For a PD layout the
// check is made concrete: the matrix throughput its prefill pool would need to prefill every
// prompt, and the decode rate its decode pool could reach with a full KV cache.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "harness/observations/compare.hpp"
#include "harness/explain/detail/explain_format.hpp"
#include "harness/explain/explain_report.hpp"
#include "harness/perf/kv_capacity.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/step_cost_model.hpp"
#include "harness/sim/grid.hpp"
#include "harness/sim/layout.hpp"

namespace tpbench {
namespace {

using detail::fmt;
constexpr double kAboveTolerance = 1.05;
// Sustained dense BF16 GEMM throughput above this share of the datasheet peak is not seen on
// H100/H200 (large cuBLAS GEMMs reach ~65-75 %, see the profile's sources), let alone a whole
// prefill with attention and all-reduces.
constexpr double kMaxCredibleMfu = 0.80;
// The decode bound rests on the KV capacity estimate (utilization, reserve): within 10 % of it a
// point is called marginal, not impossible.
constexpr double kDecodeMargin = 1.10;

struct Above {
  std::string config;
  int concurrency = 0;
  double measured = 0, predicted = 0;  // tok/s/GPU
};

// FLOP/s per GPU a prefill pool needs to prefill `req_per_s` prompts of ISL tokens.
double prefill_flops_needed(const ExplainInputs& in, const Pool& pool, double req_per_s) {
  const StepCostModel rm(in.model, pool.tp, in.profile, PerfParams{}, in.scheme);
  StepShape s;
  s.prefill_tokens = double(in.isl);
  s.prefill_attn_pairs = 0.5 * double(in.isl) * double(in.isl + 1);
  s.prefill_seqs = 1;
  s.logits = 1;
  // flops is rank 0's: per GPU under tensor parallelism, where every rank shares each prompt; the
  // whole prompt under weight-gather, where one rank computes it, so per GPU on average / N.
  const double per_gpu = rm.step(s).flops / (in.scheme.plan == PlanKind::WeightGather ? pool.tp : 1);
  return per_gpu * req_per_s / pool.instances;
}

// Sequences of average length over their decode (ISL + OSL/2) one instance's KV cache holds, at
// most max_num_seqs.
double sequences_per_instance(const ExplainInputs& in, const Pool& pool) {
  const PerfParams par;
  const double avg_len = double(in.isl) + 0.5 * double(in.osl);
  return std::min(double(kv_capacity(in.model, pool.tp, in.profile, par, in.scheme).tokens) / avg_len, double(par.max_num_seqs));
}

// An upper bound on the decode pool's output tok/s from HBM traffic alone: every step streams
// the weights and every running sequence's KV at the datasheet bandwidth (no collectives, no
// overhead, no compute), with the KV cache holding as many sequences as fit at their average
// length over the decode (ISL + OSL/2), at most max_num_seqs.
double decode_bound_tok_s(const ExplainInputs& in, const Pool& pool) {
  const PerfParams par;
  const double avg_len = double(in.isl) + 0.5 * double(in.osl);
  const double seqs = sequences_per_instance(in, pool);
  if (seqs < 1) return 0;
  const StepCostModel rm(in.model, pool.tp, in.profile, par, in.scheme);
  StepShape s;
  s.decode_seqs = seqs;
  s.decode_ctx_tokens = seqs * avg_len;
  s.logits = seqs;
  const StepCost c = rm.step(s);
  const double bw = in.profile.peak_hbm_bandwidth > 0 ? in.profile.peak_hbm_bandwidth : in.profile.hbm_bandwidth;
  const double step = (c.weight_bytes + c.kv_bytes) / bw;
  return step > 0 ? pool.instances * seqs / step : 0;
}

}  // namespace

std::string explain_above_speed_of_light(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref) {
  std::vector<Above> above;
  double max_eff = 0;
  std::string max_at;
  for (const auto& p : pts) {
    auto it = ref.find({p.layout, p.concurrency});
    if (!p.feasible || it == ref.end() || !(p.tokens_per_s_per_gpu > 0)) continue;
    const double eff = it->second->tokens_per_s_per_gpu / p.tokens_per_s_per_gpu;
    if (eff > max_eff) { max_eff = eff; max_at = p.layout + " C=" + std::to_string(p.concurrency); }
    if (eff > kAboveTolerance) above.push_back({p.layout, p.concurrency, it->second->tokens_per_s_per_gpu, p.tokens_per_s_per_gpu});
  }
  std::ostringstream md;
  md << "\n## Reference points above the speed of light\n\n";
  if (above.empty()) {
    md << "None: every reference point is within 5 % of its prediction or below it (highest measured / predicted "
       << fmt("%.2f", max_eff) << ", at " << max_at << ").\n";
    return md.str();
  }
  const bool have_peak = in.profile.peak_matmul_flops > 0;
  const double flops_ref = have_peak ? in.profile.peak_matmul_flops : in.profile.matmul_flops;
  md << "The prediction is built from datasheets and micro-benchmarks only and is meant as the hardware's speed of "
        "light; "
     << above.size() << " reference points exceed it by more than 5 %. It charges collectives and per-step overhead "
        "in full, so for PD layouts two stricter bounds tell a run that could not have happened as labelled from a "
        "model that is too slow. *Prefill pool* is the matrix "
        "throughput each prefill GPU would need to prefill every prompt (as a share of the "
     << (have_peak ? "datasheet peak" : "profile's achievable") << " " << fmt("%.0f", flops_ref / 1e12)
     << " TFLOP/s), and *decode pool* is the measured output rate over an upper bound of the decode pool's: HBM "
        "traffic alone (weights and KV at the datasheet bandwidth, no collectives, no overhead) with its KV cache "
        "full of sequences at their average length ("
     << (in.model.kv_dtype == DType::BF16 ? "BF16 KV, as the reference's README states" : "FP8 KV") << "). *Aggregated, "
        "same GPUs* is llm-d's aggregated TP replicas on the same number of GPUs at the same concurrency.\n\n"
;
  Table table = detail::report_table({"config", "C", "llm-d tok/s/GPU", "predicted", "measured / predicted",
                                      "prefill pool needs", "decode pool needs", "aggregated, same GPUs", "verdict"});
  int impossible = 0;
  bool prefill_over = false, decode_over = false;
  for (const auto& a : above) {
    const Layout lay = parse_layout(a.config);
    const double out_tok_s = a.measured * lay.num_gpus();
    std::string pre = "-", dec = "-", agg = "-", verdict = "model slower than measured";
    if (lay.disaggregated) {
      const double req_s = out_tok_s / double(in.osl);
      const double mfu = prefill_flops_needed(in, lay.prefill, req_s) / flops_ref;
      pre = fmt("%.0f %%", 100.0 * mfu);
      const double bound = decode_bound_tok_s(in, lay.decode);
      if (bound > 0) dec = fmt("%.2f x", out_tok_s / bound);
      const bool p_over = have_peak && mfu > kMaxCredibleMfu, d_over = bound > 0 && out_tok_s > kDecodeMargin * bound;
      if (!p_over && !d_over && bound > 0 && out_tok_s > bound) verdict = "decode pool at its bound";
      if (p_over || d_over) {
        verdict = p_over ? "prefill pool cannot keep up" : "decode pool cannot keep up";
        ++impossible;
        prefill_over = prefill_over || p_over;
        decode_over = decode_over || d_over;
      }
      const int tp = lay.decode.tp;
      const std::string same = std::to_string(lay.num_gpus() / tp) + "R-TP" + std::to_string(tp);
      if (auto it = ref.find({same, a.concurrency}); it != ref.end())
        agg = same + " " + fmt("%.1f", it->second->tokens_per_s_per_gpu);
    }
    table.add_row({a.config, a.concurrency, fmt("%.1f", a.measured), fmt("%.1f", a.predicted),
                   fmt("%.2f", a.measured / a.predicted), pre, dec, agg, verdict});
  }
  md << detail::markdown(table);
  md << "\nA prefill pool above " << fmt("%.0f", 100 * kMaxCredibleMfu)
     << " % of peak, or a decode pool more than 10 % above its HBM bound, cannot be had from this hardware: " << impossible
     << " of " << above.size() << " points ran differently from their labels. ";
  if (prefill_over)
    md << "Where the prefill pool cannot keep up, some prompts must have been prefilled elsewhere (decode instances "
          "prefilling locally). ";
  if (decode_over)
    md << "Where the decode pool cannot keep up, some requests must have been decoded elsewhere (prefill instances "
          "serving requests end to end), or the KV cache held more sequences than BF16 allows. ";
  md << "Either way those throughputs are close to the aggregated replicas on the same GPUs, not to a fixed "
        "prefill/decode split, and their errors in `tpbench compare` measure that, not the model; read PD conclusions "
        "from the points below the bounds. The other points listed are possible on the hardware and say the model is "
        "too slow there (for a prefill pool: it charges every all-reduce in full, with no overlap).\n";
  return md.str();
}

std::string explain_pd_littles_law(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref) {
  if (in.latency.empty() || in.osl < 2) return "";
  // Model-free: by Little's law the requests in their decode phase at once are the request rate
  // x the decode phase's length, (OSL - 1) x TPOT, all from llm-d's own numbers. Every PD point
  // with a TPOT is checked, not only those above the speed of light.
  Table rows = detail::report_table({"config", "C", "llm-d TPOT ms", "predicted TPOT ms", "requests/s", "decoding at once",
                                     "decode pool holds", ""});
  int checked = 0, over = 0;
  std::vector<double> ref_gpu, model_gpu, ref_inv_tpot, model_inv_tpot;
  double worst_tpot_ratio = 0;
  for (const auto& p : pts) {
    const Layout lay = parse_layout(p.layout);
    auto it = ref.find({p.layout, p.concurrency});
    auto lt = in.latency.find({p.layout, p.concurrency});
    if (!lay.disaggregated || !p.feasible || it == ref.end() || lt == in.latency.end() ||
        !(lt->second.first > 0))
      continue;
    const double tpot = lt->second.first;
    const double req_s = it->second->tokens_per_s_per_gpu * lay.num_gpus() / double(in.osl);
    const double decoding = req_s * double(in.osl - 1) * tpot;
    const double holds = lay.decode.instances * sequences_per_instance(in, lay.decode);
    const bool too_many = decoding > kDecodeMargin * holds;
    ++checked;
    over += too_many;
    ref_gpu.push_back(it->second->tokens_per_s_per_gpu);
    model_gpu.push_back(p.tokens_per_s_per_gpu);
    ref_inv_tpot.push_back(1.0 / tpot);
    if (p.tpot_s > 0) worst_tpot_ratio = std::max(worst_tpot_ratio, tpot / p.tpot_s);
    model_inv_tpot.push_back(p.per_user_inv_tpot);
    rows.add_row({p.layout, p.concurrency, fmt("%.1f", tpot * 1e3), fmt("%.1f", p.tpot_s * 1e3), fmt("%.2f", req_s),
                  fmt("%.0f", decoding), fmt("%.0f", holds), too_many ? "**more than the decode pool holds**" : "fits"});
  }
  if (checked == 0) return "";
  std::ostringstream md;
  md << "\n## PD points against Little's law\n\n"
     << "From llm-d's own throughput and TPOT, no model: requests decoding at once = request rate x (OSL - 1) x "
        "TPOT, against the sequences of average length (ISL + OSL/2, "
     << (in.model.kv_dtype == DType::BF16 ? "BF16" : "FP8") << " KV) the decode pool's KV cache holds "
        "(more than 10 % above it is flagged). *Predicted TPOT* is the simulator's at the speed of light.\n\n"
     << detail::markdown(rows) << "\n"
     << over << " of " << checked << " PD point" << (checked == 1 ? "" : "s") << " had more requests decoding at once "
     << "than their decode pool can hold"
     << (over > 0 ? ": there other instances (the prefill pool's) were decoding too, or the KV cache was smaller per "
                    "token than BF16, so their TPOT is not one decode pool's. "
                  : ". ")
     << "Over these points the prediction's tok/s/GPU is within " << fmt("%.1f", mape_percent(ref_gpu, model_gpu))
     << " % MAPE of llm-d, its 1/TPOT within " << fmt("%.1f", mape_percent(ref_inv_tpot, model_inv_tpot))
     << " %, with llm-d's TPOT up to " << fmt("%.1f", worst_tpot_ratio) << "x the predicted one.";
  if (worst_tpot_ratio > 1.5)
    md << " Where a PD layout's prefill pool sets its throughput, tok/s/GPU agreement does not test the decode pool: "
          "llm-d's decode pools ran their steps slower than the speed of light (at the same request rate, more "
          "requests decoding at once), which only per-token latency shows.";
  md << "\n";
  return md.str();
}

}  // namespace tpbench

namespace tpbench {
namespace {

// One PD point above the BF16 speed of light, priced again with an FP8 KV cache.
struct Fp8KvCheck {
  std::string config;
  int concurrency = 0;
  double measured = 0, predicted_bf16 = 0, predicted_fp8 = 0;  // tok/s/GPU
  double decode_bound_bf16 = 0, decode_bound_fp8 = 0;           // output tok/s
  double prefill_mfu = 0;                                        // share of the peak the prefill pool needs
  std::string why_not;                                           // empty: explained
};

Fp8KvCheck check_with_fp8_kv(const ExplainInputs& in, const ExplainInputs& fp8, const ServingPoint& p, double measured) {
  const Layout lay = parse_layout(p.layout);
  Fp8KvCheck c{p.layout, p.concurrency, measured, p.tokens_per_s_per_gpu};
  GridSpec g = explain_grid(fp8);
  g.layouts = {lay};
  g.concurrency = {p.concurrency};
  const std::vector<ServingPoint> q = simulate_grid(g, fp8.model, fp8.profile, PerfParams{});
  if (!q.empty() && q.front().feasible) c.predicted_fp8 = q.front().tokens_per_s_per_gpu;
  const double out_tok_s = measured * lay.num_gpus();
  c.decode_bound_bf16 = decode_bound_tok_s(in, lay.decode);
  c.decode_bound_fp8 = decode_bound_tok_s(fp8, lay.decode);
  const double flops_ref = in.profile.peak_matmul_flops > 0 ? in.profile.peak_matmul_flops : in.profile.matmul_flops;
  // The KV cache's type changes no FLOP of a prefill: the same share with either.
  c.prefill_mfu = prefill_flops_needed(in, lay.prefill, out_tok_s / double(in.osl)) / flops_ref;
  if (c.predicted_fp8 > 0 && measured <= kAboveTolerance * c.predicted_fp8) return c;
  if (c.prefill_mfu > kMaxCredibleMfu)
    c.why_not = "the prefill pool would need " + fmt("%.0f", 100 * c.prefill_mfu) + " % of peak; the KV type changes no FLOP";
  else if (c.decode_bound_fp8 > 0 && out_tok_s > kDecodeMargin * c.decode_bound_fp8)
    c.why_not = "the decode pool is still " + fmt("%.2f", out_tok_s / c.decode_bound_fp8) + " x its HBM bound";
  else
    c.why_not = "still " + fmt("%.2f", measured / std::max(c.predicted_fp8, 1e-9)) + " x the FP8-KV prediction";
  return c;
}

}  // namespace

std::string explain_pd_fp8_kv(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref) {
  if (in.model.kv_dtype != DType::BF16) return "";
  ExplainInputs fp8 = in;
  fp8.model.kv_dtype = DType::FP8E4M3;
  std::vector<Fp8KvCheck> checks;
  for (const auto& p : pts) {
    auto it = ref.find({p.layout, p.concurrency});
    if (!parse_layout(p.layout).disaggregated || !p.feasible || it == ref.end() || !(p.tokens_per_s_per_gpu > 0)) continue;
    const double measured = it->second->tokens_per_s_per_gpu;
    if (measured > kAboveTolerance * p.tokens_per_s_per_gpu) checks.push_back(check_with_fp8_kv(in, fp8, p, measured));
  }
  std::ostringstream md;
  md << "\n## PD points above the speed of light, with an FP8 KV cache\n\n";
  if (checks.empty()) {
    md << "No PD point is more than 5 % above its BF16-KV prediction.\n";
    return md.str();
  }
  md << "The same PD points priced again with the KV cache in FP8 (E4M3, per-tensor scales, as vLLM's "
        "kv_cache_dtype=fp8): half the KV bytes per token, so twice the sequences in the same memory and half the "
        "K/V each decode step streams; weights and prefill FLOPs unchanged. A point is *explained* when llm-d is "
        "within 5 % of the FP8-KV prediction.\n\n"
;
  Table fp8_table = detail::report_table({"config", "C", "llm-d tok/s/GPU", "predicted, BF16 KV", "predicted, FP8 KV",
                                          "measured / predicted, FP8 KV", "decode bound BF16 -> FP8 tok/s",
                                          "prefill pool needs", "FP8 KV"});
  std::string yes, no;
  int explained = 0;
  for (const auto& c : checks) {
    const std::string label = c.config + " C=" + std::to_string(c.concurrency);
    fp8_table.add_row({c.config, c.concurrency, fmt("%.1f", c.measured), fmt("%.1f", c.predicted_bf16),
                       c.predicted_fp8 > 0 ? fmt("%.1f", c.predicted_fp8) : "not runnable",
                       c.predicted_fp8 > 0 ? fmt("%.2f", c.measured / c.predicted_fp8) : "-",
                       fmt("%.0f", c.decode_bound_bf16) + " -> " + fmt("%.0f", c.decode_bound_fp8),
                       fmt("%.0f %%", 100 * c.prefill_mfu), c.why_not.empty() ? "explained" : "not: " + c.why_not});
    if (c.why_not.empty()) {
      ++explained;
      yes += (yes.empty() ? "" : ", ") + label;
    } else {
      no += (no.empty() ? "" : ", ") + label;
    }
  }
  md << detail::markdown(fp8_table);
  md << "\nAn FP8 KV cache would explain " << explained << " of " << checks.size() << " PD point"
     << (checks.size() == 1 ? "" : "s") << " above the BF16 speed of light" << (yes.empty() ? "" : " (" + yes + ")")
     << "; " << (no.empty() ? "none remains" : "it would not explain " + no) << ". "
     << "An explained point is possible on this hardware only if llm-d's decode pool stored its KV in FP8 (the "
        "reference's README states BF16), so its label and its throughput disagree either way.\n";
  return md.str();
}

}  // namespace tpbench
