#include "harness/perf/kv_capacity.hpp"

#include <algorithm>
#include <cmath>

namespace tpbench {
namespace {

StepConfig memory_config(int tp, const StepScheme& s, Phase phase, int64_t batch, int64_t context, int64_t layers) {
  StepConfig c;
  c.plan = s.plan;
  c.overlap = s.overlap;
  c.split_chunks = s.split_chunks;
  c.phase = phase;
  c.tp = tp;
  c.batch = batch;
  c.context = context;
  c.layers = layers;
  c.ep = s.ep;
  return c;
}

// The largest footprint over the ranks, by buffer kind.
MemoryFootprint max_footprint(const StepProgram& p) {
  MemoryFootprint f;
  for (const RankProgram& r : p.ranks) {
    const MemoryFootprint x = footprint(r);
    f.weight_bytes = std::max(f.weight_bytes, x.weight_bytes);
    f.kv_bytes = std::max(f.kv_bytes, x.kv_bytes);
    f.activation_bytes = std::max(f.activation_bytes, x.activation_bytes);
    f.staging_bytes = std::max(f.staging_bytes, x.staging_bytes);
  }
  return f;
}

// A model whose layers differ (dense and mixture-of-experts): its whole program, summed.
PlanMemory mixed_layers_memory(const ModelSpec& m, int tp, const StepScheme& s, int64_t tokens) {
  const int64_t batch = tp, context = 8;
  const MemoryFootprint all = max_footprint(build_program(m, memory_config(tp, s, Phase::Decode, batch, context, 0)));
  PlanMemory pm;
  pm.weight_bytes = double(all.weight_bytes);
  pm.kv_bytes_per_token = double(all.kv_bytes) / double(batch * context);
  // Activations: through the first MoE layer, so that its scratch buffers are counted.
  int64_t layers = 1;
  while (layers < m.layers && m.ffn_kind(layers - 1) != FfnKind::MoE) ++layers;
  const MemoryFootprint act =
      max_footprint(build_program(m, memory_config(tp, s, Phase::Prefill, 1, std::max<int64_t>(1, tokens), layers)));
  pm.activation_bytes = double(act.activation_bytes + act.staging_bytes);
  return pm;
}

}  // namespace

PlanMemory plan_memory(const ModelSpec& m, int tp, const StepScheme& s, int64_t tokens) {
  if (m.has_moe_layers()) return mixed_layers_memory(m, tp, s, tokens);
  // Layers are identical: one layer's weights and KV are the difference between programs of
  // two layers and one, the rest (LM head, final norm) is what one layer's program has besides.
  // A batch of tp sequences gives every rank of a weight-gather group one of its own.
  const int64_t batch = tp, context = 8;
  const MemoryFootprint one = max_footprint(build_program(m, memory_config(tp, s, Phase::Decode, batch, context, 1)));
  MemoryFootprint per_layer = one;
  double fixed_weights = 0;
  if (m.layers > 1) {
    const MemoryFootprint two = max_footprint(build_program(m, memory_config(tp, s, Phase::Decode, batch, context, 2)));
    per_layer.weight_bytes = two.weight_bytes - one.weight_bytes;
    per_layer.kv_bytes = two.kv_bytes - one.kv_bytes;
    fixed_weights = double(one.weight_bytes - per_layer.weight_bytes);
  }
  PlanMemory pm;
  pm.weight_bytes = fixed_weights + double(m.layers) * double(per_layer.weight_bytes);
  // KV of `batch` sequences of `context` positions on the most loaded rank, per instance token.
  pm.kv_bytes_per_token = double(m.layers) * double(per_layer.kv_bytes) / double(batch * context);
  const MemoryFootprint act =
      max_footprint(build_program(m, memory_config(tp, s, Phase::Prefill, 1, std::max<int64_t>(1, tokens), 1)));
  pm.activation_bytes = double(act.activation_bytes + act.staging_bytes);
  return pm;
}

double activation_peak_bytes(const ModelSpec& m, int tp, int64_t tokens, int64_t max_seqs, const StepScheme& s) {
  const double sampler = 2.0 * 4.0 * double(max_seqs) * double(m.vocab);
  return plan_memory(m, tp, s, tokens).activation_bytes + sampler;
}

KvCapacity kv_capacity(const ModelSpec& m, int tp, const SystemProfile& prof, const PerfParams& par,
                       const StepScheme& s) {
  const PlanMemory pm = plan_memory(m, tp, s, par.max_num_batched_tokens);
  KvCapacity k;
  k.budget_bytes = prof.memory_bytes * par.gpu_memory_utilization;
  k.weight_bytes = pm.weight_bytes;
  k.activation_bytes = pm.activation_bytes + 2.0 * 4.0 * double(par.max_num_seqs) * double(m.vocab);
  k.reserve_bytes = par.memory_reserve_bytes >= 0 ? par.memory_reserve_bytes
                                                  : prof.runtime_reserve_bytes + k.activation_bytes;
  k.kv_bytes = k.budget_bytes - k.weight_bytes - k.reserve_bytes;
  k.kv_bytes_per_token = pm.kv_bytes_per_token;
  k.tokens = k.kv_bytes > 0 ? int64_t(std::floor(k.kv_bytes / k.kv_bytes_per_token)) : 0;
  return k;
}

}  // namespace tpbench
