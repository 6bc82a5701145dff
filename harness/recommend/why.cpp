#include "harness/recommend/why.hpp"

#include <algorithm>
#include <cstdio>

#include "harness/common/text.hpp"

namespace tpbench {
namespace {

std::string fmt(const char* f, double v) { return format_double(f, v); }

// One pool's share of the budget: its stats are summed over instances of tp GPUs each.
void add_pool(LayoutTokenBudget& b, const PoolReport& r, double k) {
  if (r.tp <= 0) return;
  const EngineStats& s = r.stats;
  const double g = k * r.tp;
  b.weights += std::min(s.gemm_memory_s, s.gemm_s) * g;
  b.prefill_compute += (std::max(0.0, s.gemm_s - s.gemm_memory_s) + s.prefill_attn_s) * g;
  b.kv += s.decode_attn_s * g;
  b.collectives += s.exposed_collective_s * g;
  b.elementwise += s.elementwise_s * g;
  b.overhead += s.overhead_s * g;
}

const ServingPoint* point_at(const SearchResult& s, int c) {
  for (const ServingPoint& p : s.points)
    if (p.concurrency == c) return &p;
  return nullptr;
}

std::string target_value(TargetKind k, const ServingPoint& p, const Targets& t) {
  switch (k) {
    case TargetKind::Ttft: return "TTFT " + fmt("%.4g", p.ttft_s) + " s (target " + fmt("%.4g", t.ttft_s) + " s)";
    case TargetKind::Tpot:
      return "TPOT " + fmt("%.4g", p.tpot_s * 1e3) + " ms (target " + fmt("%.4g", t.tpot_s * 1e3) + " ms)";
    case TargetKind::TokensPerUser:
      return fmt("%.4g", per_user_rate(p, t.per_user)) + " tok/s/user (target " + fmt("%.4g", t.min_tokens_per_user) +
             ")";
  }
  return "";
}

std::string budget_line(const std::string& name, const LayoutTokenBudget& b) {
  const auto names = budget_part_names();
  const auto parts = budget_parts(b);
  std::string s = name + ": " + fmt("%.2f", b.total) + " GPU-ms per output token (";
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? ", " : "") + names[i] + " " + fmt("%.2f", parts[i]);
  return s + ")";
}

// What a part of the budget stands for, in explain's words.
std::string part_meaning(size_t part) {
  static const char* meaning[] = {
      "each step streams an instance's weights once for its whole batch, so their share per token falls as the "
      "batch per instance grows",
      "each decode step reads the KV cache of every running request",
      "the TP group's collectives on the step's critical path",
      "prompt tokens computed (GEMM FLOPs beyond the weight stream and prefill attention)",
      "norms, activations and residual adds",
      "the fixed cost of every step and kernel",
      "GPU time outside any step: an instance waiting for requests, for KV room or for the other pool, and GPUs "
      "the layout leaves unused"};
  return part < sizeof meaning / sizeof meaning[0] ? meaning[part] : "";
}

double mean_batch(const PoolReport& r) { return r.stats.busy_s > 0 ? r.stats.decode_seq_s / r.stats.busy_s : 0.0; }

std::string kv_room(const ServingPoint& p) {
  const PoolReport& d = p.main;
  std::string s = p.layout + " at C=" + std::to_string(p.concurrency) + ": room for " +
                  std::to_string(d.kv_max_sequences) + " ISL+OSL requests per " +
                  (p.prefill.tp > 0 ? "decode instance" : "instance") + " (" +
                  std::to_string(d.kv_max_sequences * d.instances) + " in all), mean decode batch " +
                  fmt("%.1f", mean_batch(d)) + " per instance";
  if (d.stats.busy_s > 0 && d.stats.kv_blocked_s > 0)
    s += ", a request waits for KV room " + fmt("%.0f", 100.0 * d.stats.kv_blocked_s / d.stats.busy_s) +
         " % of the time";
  return s;
}

}  // namespace

LayoutTokenBudget layout_token_budget(const ServingPoint& p, int gpus) {
  LayoutTokenBudget b;
  const double tokens = p.output_tok_s * p.duration_s;
  if (!p.feasible || tokens <= 0 || p.output_tok_s <= 0) return b;
  const double k = 1e3 / tokens;
  add_pool(b, p.main, k);
  add_pool(b, p.prefill, k);
  b.total = 1e3 * double(std::max(gpus, p.num_gpus)) / p.output_tok_s;
  const double busy = b.weights + b.prefill_compute + b.kv + b.collectives + b.elementwise + b.overhead;
  b.idle = std::max(0.0, b.total - busy);
  return b;
}

std::vector<std::string> budget_part_names() {
  return {"weights", "KV reads", "collectives", "prefill compute", "elementwise", "overhead", "idle"};
}

std::vector<double> budget_parts(const LayoutTokenBudget& b) {
  return {b.weights, b.kv, b.collectives, b.prefill_compute, b.elementwise, b.overhead, b.idle};
}

std::vector<std::string> why_it_wins(const Recommendation& r, const Targets& t, int gpus, int max_concurrency) {
  std::vector<std::string> out;
  if (r.winner < 0) return out;
  const LayoutOutcome& w = r.layouts[size_t(r.winner)];
  const ServingPoint& pw = *w.best();
  const LayoutTokenBudget bw = layout_token_budget(pw, gpus);
  out.push_back(budget_line(pw.layout + " at C=" + std::to_string(pw.concurrency), bw));
  if (r.runner_up >= 0) {
    const ServingPoint& pr = *r.layouts[size_t(r.runner_up)].best();
    const LayoutTokenBudget br = layout_token_budget(pr, gpus);
    out.push_back(budget_line(pr.layout + " at C=" + std::to_string(pr.concurrency), br));
    const auto pw_parts = budget_parts(bw), pr_parts = budget_parts(br);
    size_t most = 0;
    for (size_t i = 1; i < pw_parts.size(); ++i)
      if (pr_parts[i] - pw_parts[i] > pr_parts[most] - pw_parts[most]) most = i;
    out.push_back("The runner-up spends " + fmt("%.2f", br.total - bw.total) +
                  " GPU-ms more per token, most of it on " +
                  budget_part_names()[most] + " (" + fmt("%.2f", pr_parts[most]) + " against " +
                  fmt("%.2f", pw_parts[most]) + "): " + part_meaning(most) + ".");
    out.push_back("KV room: " + kv_room(pw) + "; " + kv_room(pr) + ".");
  } else {
    out.push_back("KV room: " + kv_room(pw) + ".");
  }
  const std::string transfer =
      pw.kv_transfer_s > 0 ? ", and " + fmt("%.3g", pw.kv_transfer_s + pw.kv_pull_wait_s) + " s for its KV transfer" : "";
  out.push_back("Queueing: a request waits " + fmt("%.3g", pw.queue_s) + " s for admission of its " +
                fmt("%.3g", pw.ttft_s) + " s TTFT" + transfer + ".");
  const ServingPoint* next = point_at(w.search, w.search.first_missing_concurrency);
  if (next && w.search.first_missing_concurrency > w.search.max_meeting_concurrency) {
    const TargetRatio bind = worst_target(*next, t);
    out.push_back(std::string("What stops more concurrency: the ") + target_name(bind.kind) + " target; at C=" +
                  std::to_string(next->concurrency) + " the " + target_value(bind.kind, *next, t) + ".");
  } else if (w.search.saturated_at > 0 && w.search.max_meeting_concurrency >= w.search.saturated_at) {
    out.push_back("The targets still hold at C=" + std::to_string(w.search.saturated_at) +
                  ", where the KV cache is full: more users would only queue for admission, at the same tok/s/GPU.");
  } else if (w.search.max_meeting_concurrency >= max_concurrency) {
    out.push_back("The targets still hold at the search's largest concurrency, C=" + std::to_string(max_concurrency) +
                  " (--max-concurrency).");
  }
  return out;
}

std::vector<std::string> why_none_meets(const Recommendation& r, const Targets& t) {
  std::vector<std::string> out;
  if (r.closest < 0) return out;
  const ServingPoint& p = r.layouts[size_t(r.closest)].search.points.front();
  out.push_back(std::string("The ") + target_name(r.binding.kind) + " target binds: the closest layout, " + p.layout +
                " at C=1 (its lowest latency), reaches " + target_value(r.binding.kind, p, t) + ".");
  for (const TargetRatio& x : target_ratios(p, t))
    if (x.kind != r.binding.kind)
      out.push_back(std::string("There ") + target_value(x.kind, p, t) + (x.ratio <= 1 ? ": met." : ": missed too."));
  return out;
}

}  // namespace tpbench
