#include "harness/perf/step_cost_model.hpp"

#include <algorithm>
#include <cmath>

#include "harness/common/error.hpp"
#include "harness/perf/critical_path.hpp"

namespace tpbench {
namespace {

// Layers in the template: enough for the per-layer period to settle (layer 0 has no previous
// layer to wait for, the last one no next layer to prefetch), few enough to price quickly.
constexpr int64_t kTemplateLayers = 4;
// A layer of the template with a layer before and after it: what every further layer repeats.
constexpr int kInnerLayer = 2;
// A template grows beyond kTemplateLayers (up to this) until each FFN kind that has layers
// beyond it has an inner layer of its own (DeepSeekMoE's first dense layers, Llama 4's interleave).
constexpr int64_t kMostTemplateLayers = 16;

StepConfig template_config(int tp, const StepScheme& s, int64_t layers) {
  StepConfig c;
  c.plan = s.plan;
  c.overlap = s.overlap;
  c.phase = Phase::Decode;
  c.tp = tp;
  c.batch = std::max(tp, s.split_chunks);  // every chunk and every rank has a sequence
  c.context = 4;
  c.layers = layers;
  c.split_chunks = s.split_chunks;
  c.ep = s.ep;
  return c;
}

// The inner layer (with a layer before and after it) that stands for `kind`, preferring
// kInnerLayer; -1 when the first `layers` layers have none.
int inner_layer_of(const ModelSpec& m, FfnKind kind, int64_t layers) {
  if (kInnerLayer < layers - 1 && m.ffn_kind(kInnerLayer) == kind) return kInnerLayer;
  for (int64_t l = 1; l + 1 < layers; ++l)
    if (m.ffn_kind(l) == kind) return int(l);
  return -1;
}

int64_t layers_of_kind_from(const ModelSpec& m, FfnKind kind, int64_t first) {
  int64_t n = 0;
  for (int64_t l = first; l < m.layers; ++l) n += m.ffn_kind(l) == kind;
  return n;
}

bool shares_all(const View& v) { return v.rule.share == SeqShare::All; }

}  // namespace

StepCostModel::StepCostModel(const ModelSpec& m, int tp, const SystemProfile& prof, const PerfParams& par,
                             StepScheme scheme)
    : m_(m), tp_(tp), prof_(prof), par_(par), scheme_(scheme) {
  require_precision_support(m, prof);
  tmpl_layers_ = std::min<int64_t>(m.layers, kTemplateLayers);
  for (FfnKind kind : {FfnKind::Dense, FfnKind::MoE}) {
    while (tmpl_layers_ < std::min(m.layers, kMostTemplateLayers) && layers_of_kind_from(m, kind, tmpl_layers_) > 0 &&
           inner_layer_of(m, kind, tmpl_layers_) < 0)
      ++tmpl_layers_;
  }
  for (FfnKind kind : {FfnKind::Dense, FfnKind::MoE}) {
    const size_t k = size_t(kind);
    extra_layers_[k] = layers_of_kind_from(m, kind, tmpl_layers_);
    rep_layer_[k] = inner_layer_of(m, kind, tmpl_layers_);
    if (extra_layers_[k] > 0 && rep_layer_[k] < 0)
      throw UsageError("model '" + m.name + "': its first " + std::to_string(tmpl_layers_) +
                       " layers hold no inner layer that stands for its later " +
                       (kind == FfnKind::MoE ? "mixture-of-experts" : "dense") + " layers");
  }
  StepProgram p = build_program(m, template_config(tp, scheme, tmpl_layers_));
  tmpl_ = std::move(p.ranks.front());
  for (size_t i = 0; i < tmpl_.ops.size(); ++i) {
    const Op& op = tmpl_.ops[i];
    if (op.stream != StreamId::Compute) serial_ = false;
    if (!shares_all(op.a) || !shares_all(op.out)) rows_by_tokens_ = false;
    if (op.kind == OpKind::Attention) attention_ops_.push_back(int(i));
  }
}

PricingContext StepCostModel::pricing() const {
  // Weight-gather's GEMMs are whole layers, the shapes of TP 1: that TP's efficiency table.
  const int gemm_tp = scheme_.plan == PlanKind::WeightGather ? 1 : tp_;
  return PricingContext{&prof_, &par_, gemm_tp, double(dtype_bytes(m_.dtype))};
}

double StepCostModel::layers_scale(int i) const {
  // The template's ops, once each, and the model's layers beyond the template's as copies of an
  // inner layer's ops (tagged with that layer: a prefetch issued in layer l belongs to l + 1).
  if (i < tmpl_.layers_begin || i >= tmpl_.head_begin) return 1.0;
  const int l = tmpl_.ops[size_t(i)].layer;
  if (l < 0 || l >= tmpl_layers_) return 1.0;
  const size_t kind = size_t(m_.ffn_kind(l));
  return l == rep_layer_[kind] ? 1.0 + double(extra_layers_[kind]) : 1.0;
}

StepCostModel::RowTerms StepCostModel::compute_row_terms(const StepWork& w) const {
  RowTerms t;
  t.duration.assign(tmpl_.ops.size(), 0.0);
  const PricingContext ctx = pricing();
  const double eb = ctx.element_bytes;
  for (size_t i = 0; i < tmpl_.ops.size(); ++i) {
    if (tmpl_.ops[i].kind == OpKind::Attention) continue;
    const Op op = op_at(tmpl_.ops[i], w, eb);
    const OpPrice price = price_op(op, {}, ctx);
    const double k = layers_scale(int(i));
    t.duration[i] = price.seconds;
    t.serial_s += k * price.seconds;
    switch (op.kind) {
      case OpKind::Gemm:
      case OpKind::GroupedGemm:
        t.gemm_s += k * price.seconds;
        t.gemm_memory_s += k * price.memory_s;
        t.gemm_compute_s += k * price.compute_s;
        break;
      case OpKind::Collective:
        t.collective_s += k * price.seconds;
        t.totals.collective_bytes += k * op.bytes_per_rank;
        if (op.message_bytes > 0) {
          t.totals.collective_message_bytes[size_t(op.collective)] += k * op.message_bytes;
          t.totals.collectives += int(std::lround(k));
        }
        break;
      case OpKind::Attention: break;
      default: t.elementwise_s += k * price.seconds; break;
    }
    t.totals.flops += k * op.flops;
    t.totals.weight_bytes += k * op.weight_bytes;
    t.totals.kv_bytes += k * op.kv_bytes;
    t.totals.hbm_bytes += k * op.hbm_bytes;
  }
  return t;
}

size_t StepCostModel::RowKeyHash::operator()(const RowKey& k) const {
  const std::hash<double> h;
  size_t x = h(k.tokens);
  for (double v : {k.logits, k.decode_seqs, k.prefill_seqs}) x = x * 1000003u ^ h(v);
  return x;
}

StepCostModel::RowKey StepCostModel::row_key(const StepWork& w) const {
  RowKey k{w.tokens(), w.logits, 0, 0};
  if (!rows_by_tokens_) {
    k.decode_seqs = w.decode_seqs;
    k.prefill_seqs = w.prefill_seqs;
  }
  return k;
}

const StepCostModel::RowTerms& StepCostModel::row_terms(const StepWork& w) const {
  const RowKey key = row_key(w);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  if (cache_.size() > 100000) cache_.clear();  // a bound on memory; an engine revisits few shapes
  return cache_.emplace(key, compute_row_terms(w)).first->second;
}

double StepCostModel::critical_path(const std::vector<double>& duration) const {
  const std::vector<Op>& ops = tmpl_.ops;
  const int n = int(ops.size());
  const double prologue = section_time(ops, duration, 0, tmpl_.layers_begin);
  const double head = section_time(ops, duration, tmpl_.head_begin, n);
  std::vector<double> finish(ops.size(), 0.0);
  schedule_ops(ops, duration, tmpl_.layers_begin, tmpl_.head_begin, 0.0, finish);
  // F(l): when every op of layers 0..l has finished. The section ends at F(last) (ops of the
  // last layer may finish after later-tagged prefetches started).
  std::vector<double> upto(size_t(tmpl_layers_), 0.0);
  for (int i = tmpl_.layers_begin; i < tmpl_.head_begin; ++i) {
    const int l = std::clamp(ops[i].layer, 0, int(tmpl_layers_) - 1);
    upto[size_t(l)] = std::max(upto[size_t(l)], finish[i]);
  }
  for (size_t l = 1; l < upto.size(); ++l) upto[l] = std::max(upto[l], upto[l - 1]);
  double layers = upto.empty() ? 0.0 : upto.back();
  // Steady state: each later layer takes the period of an inner layer of its kind.
  for (size_t kind = 0; kind < rep_layer_.size(); ++kind) {
    if (extra_layers_[kind] == 0) continue;
    const int l = rep_layer_[kind];
    layers += double(extra_layers_[kind]) * (upto[size_t(l)] - upto[size_t(l - 1)]);
  }
  return prologue + layers + head;
}

StepCost StepCostModel::step(const StepShape& s) const {
  StepCost c;
  if (s.tokens() <= 0) return c;
  const RowTerms& rt = row_terms(s);
  const PricingContext ctx = pricing();
  std::vector<double> duration;
  if (!serial_) duration = rt.duration;
  double attention_s = 0;
  for (int i : attention_ops_) {
    const Op& t = tmpl_.ops[size_t(i)];
    const AttentionWork w = attention_work_at(t.a.rule, s);
    const Op op = op_at(t, s, ctx.element_bytes);
    const OpPrice price = price_op(op, w, ctx);
    const double k = layers_scale(i);
    attention_s += k * price.seconds;
    // The kernel's fixed cost goes with the part that dominates.
    const bool decode_side = price.memory_s >= price.compute_s;
    c.decode_attn_s += k * (price.memory_s + (decode_side ? price.fixed_s : 0.0));
    c.prefill_attn_s += k * (price.compute_s + (decode_side ? 0.0 : price.fixed_s));
    c.kv_bytes += k * op.kv_bytes;
    c.flops += k * op.flops;
    if (!serial_) duration[size_t(i)] = price.seconds;
  }
  c.gemm_s = rt.gemm_s;
  c.gemm_memory_s = rt.gemm_memory_s;
  c.gemm_compute_s = rt.gemm_compute_s;
  c.collective_s = rt.collective_s;
  c.elementwise_s = rt.elementwise_s;
  c.weight_bytes = rt.totals.weight_bytes;
  c.flops += rt.totals.flops;
  c.collective_bytes = rt.totals.collective_bytes;
  double ops_s = rt.serial_s + attention_s;
  c.exposed_collective_s = c.collective_s;
  if (!serial_) {
    ops_s = critical_path(duration);
    for (size_t i = 0; i < duration.size(); ++i)
      if (tmpl_.ops[i].kind == OpKind::Collective) duration[i] = 0;
    c.exposed_collective_s = std::max(0.0, ops_s - critical_path(duration));
  }
  c.overhead_s = prof_.per_step_overhead_s + prof_.per_layer_overhead_s * double(m_.layers);
  // A stack that runs this TP's steps slower in proportion to their work (1 = the hardware):
  // every part of the step stretches, so the breakdown still adds up to the total.
  if (const double k = step_time_scale(par_, tp_); k != 1.0) {
    for (double* t : {&c.gemm_s, &c.gemm_memory_s, &c.gemm_compute_s, &c.decode_attn_s, &c.prefill_attn_s,
                      &c.collective_s, &c.exposed_collective_s, &c.elementwise_s, &c.overhead_s, &ops_s})
      *t *= k;
  }
  c.overhead_s += stack_step_overhead_s(par_, tp_);
  c.total_s = ops_s + c.overhead_s;
  return c;
}

StepTotals StepCostModel::totals_at(const StepWork& w) const {
  StepTotals t = compute_row_terms(w).totals;
  for (int i : attention_ops_) {
    const Op op = op_at(tmpl_.ops[size_t(i)], w, double(dtype_bytes(m_.dtype)));
    const double k = layers_scale(i);
    t.flops += k * op.flops;
    t.kv_bytes += k * op.kv_bytes;
    t.hbm_bytes += k * op.hbm_bytes;
  }
  return t;
}

double StepCostModel::ops_time_s(const StepWork& w) const {
  const StepCost c = step(w);
  return (c.total_s - c.overhead_s) / step_time_scale(par_, tp_);
}

}  // namespace tpbench
