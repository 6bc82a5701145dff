// `tpbench explain`: reference points that beat the speed of light. A prediction built from
// datasheets and micro-benchmarks is an upper bound; a measured point more than 5 % above it
// says the run did not do what its label says (or the profile is wrong). For a PD layout the
// check is made concrete: the matrix throughput its prefill pool would need to prefill every
// prompt, and the decode rate its decode pool could reach with a full KV cache.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "harness/compare/explain_report.hpp"
#include "harness/perf/kv_capacity.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/roofline.hpp"
#include "harness/sim/layout.hpp"

namespace tpbench {
namespace {

std::string fmt(const char* f, double v) { char b[64]; std::snprintf(b, sizeof b, f, v); return b; }
constexpr double kAboveTolerance = 1.05;
// Sustained dense BF16 GEMM throughput above this share of the datasheet peak is not seen on
// H100/H200 (large cuBLAS GEMMs reach ~65-75 %, see the profile's sources), let alone a whole
// prefill with attention and all-reduces.
constexpr double kMaxCredibleMfu = 0.80;

struct Above {
  std::string config;
  int concurrency = 0;
  double measured = 0, predicted = 0;  // tok/s/GPU
};

// FLOP/s per GPU a prefill pool needs to prefill `req_per_s` prompts of ISL tokens.
double prefill_flops_needed(const ExplainInputs& in, const Pool& pool, double req_per_s) {
  const RooflineModel rm(in.model, pool.tp, in.profile, PerfParams{});
  StepShape s;
  s.prefill_tokens = double(in.isl);
  s.prefill_attn_pairs = 0.5 * double(in.isl) * double(in.isl + 1);
  s.logits = 1;
  return rm.step(s).flops * req_per_s / pool.instances;  // flops is per GPU
}

// The decode pool's output tok/s at the speed of light with every instance's KV cache full.
double decode_bound_tok_s(const ExplainInputs& in, const Pool& pool) {
  const PerfParams par;
  const int64_t seqs = std::min<int64_t>(kv_capacity(in.model, pool.tp, in.profile, par).max_sequences(in.isl + in.osl),
                                         par.max_num_seqs);
  if (seqs <= 0) return 0;
  const RooflineModel rm(in.model, pool.tp, in.profile, par);
  StepShape s;
  s.decode_seqs = double(seqs);
  s.decode_ctx_tokens = double(seqs) * (double(in.isl) + 0.5 * double(in.osl));
  s.logits = double(seqs);
  const double step = rm.step(s).total_s;
  return step > 0 ? pool.instances * double(seqs) / step : 0;
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
  md << "The prediction is built from datasheets and micro-benchmarks only, so it bounds what the hardware can do; "
     << above.size() << " reference points exceed it by more than 5 %. For a PD layout, *prefill pool* is the matrix "
        "throughput each prefill GPU would need to prefill every prompt (as a share of the "
     << (have_peak ? "datasheet peak" : "profile's achievable") << " " << fmt("%.0f", flops_ref / 1e12)
     << " TFLOP/s), and *decode pool* is the measured output rate over the fastest rate the decode pool can reach with "
        "its KV cache full (speed of light). *Aggregated, same GPUs* is llm-d's aggregated TP"
        " replicas on the same number of GPUs at the same concurrency.\n\n"
     << "| config | C | llm-d tok/s/GPU | predicted | measured / predicted | prefill pool needs | decode pool needs | aggregated, same GPUs | verdict |\n"
        "|---|---|---|---|---|---|---|---|---|\n";
  int impossible = 0;
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
      if ((have_peak && mfu > kMaxCredibleMfu) || (bound > 0 && out_tok_s > bound)) {
        verdict = "impossible as labelled";
        ++impossible;
      }
      const int tp = lay.decode.tp;
      const std::string same = std::to_string(lay.num_gpus() / tp) + "R-TP" + std::to_string(tp);
      if (auto it = ref.find({same, a.concurrency}); it != ref.end())
        agg = same + " " + fmt("%.1f", it->second->tokens_per_s_per_gpu);
    }
    md << "| " << a.config << " | " << a.concurrency << " | " << fmt("%.1f", a.measured) << " | " << fmt("%.1f", a.predicted)
       << " | " << fmt("%.2f", a.measured / a.predicted) << " | " << pre << " | " << dec << " | " << agg << " | "
       << verdict << " |\n";
  }
  md << "\n*Impossible as labelled*: a prefill pool above " << fmt("%.0f", 100 * kMaxCredibleMfu)
     << " % of peak, or a decode pool above 1.0 x, cannot be had from this hardware (" << impossible << " of "
     << above.size() << " points). Those runs did not work as a fixed prefill/decode split: their throughput sits near "
        "the aggregated replicas on the same GPUs whatever the P:D ratio, which is what happens when decode instances "
        "also prefill (for example a router or connector that falls back to local prefill). Their errors in `tpbench "
        "compare` measure that, not the model; read PD conclusions from the points below the bound. The other points "
        "are possible on the hardware and say the model is too slow there (for a prefill pool: it charges every "
        "all-reduce in full, with no overlap).\n";
  return md.str();
}

}  // namespace tpbench
