#include "harness/sim/engine.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

namespace tpbench {

void EngineStats::add(const EngineStats& o) {
  busy_s += o.busy_s; steps += o.steps; gemm_s += o.gemm_s; gemm_memory_s += o.gemm_memory_s;
  gemm_compute_s += o.gemm_compute_s; decode_attn_s += o.decode_attn_s; prefill_attn_s += o.prefill_attn_s;
  collective_s += o.collective_s; exposed_collective_s += o.exposed_collective_s;
  elementwise_s += o.elementwise_s; overhead_s += o.overhead_s; decode_seq_s += o.decode_seq_s;
  measured_s += o.measured_s; outside_measured_steps += o.outside_measured_steps;
  kv_blocked_s += o.kv_blocked_s; prefill_tokens += o.prefill_tokens; decode_tokens += o.decode_tokens;
  preemptions += o.preemptions; recomputed_tokens += o.recomputed_tokens; kv_stalled_s += o.kv_stalled_s;
}

Engine::Engine(EngineRole role, const StepTimeSource* model, int64_t kv_tokens, int64_t max_batched, int64_t max_seqs,
               KvPolicy policy)
    : role_(role), policy_(policy), model_(model), kv_tokens_(kv_tokens), max_batched_(max_batched), max_seqs_(max_seqs) {}

bool Engine::preempt_for_decodes(double now, std::vector<Request>& reqs) {
  bool preempted = false;
  for (;;) {
    int64_t decodes = 0;
    for (int id : running_)
      decodes += reqs[id].prefilled >= reqs[id].prefill_target() && reqs[id].ready_at <= now ? 1 : 0;
    if (running_.empty() || kv_used_ + decodes <= kv_tokens_) return preempted;
    // The newest running request, skipping any still pulling its KV (PD): vLLM preempts running
    // requests only, and one waiting for its KV is not running yet.
    auto it = running_.end();
    while (it != running_.begin() && reqs[*std::prev(it)].ready_at > now) --it;
    if (it == running_.begin()) return preempted;
    const int victim = *std::prev(it);
    running_.erase(std::prev(it));
    Request& v = reqs[victim];
    release(v);
    v.recompute = v.generated;
    v.prefilled = 0;
    ++v.preemptions;
    v.requeued_at = now;
    stats_.preemptions += 1;
    if (waiting_head_ > 0) waiting_[--waiting_head_] = victim;
    else waiting_.insert(waiting_.begin(), victim);
    preempted = true;
  }
}

void Engine::batch_decode(int id, const std::vector<Request>& reqs, StepBatch& batch) {
  const Request& r = reqs[id];
  decoding_.push_back(id);
  batch.shape.decode_seqs += 1;
  batch.shape.decode_ctx_tokens += double(r.isl + r.generated);
  --batch.budget;
}

void Engine::batch_prefill_chunk(int id, const std::vector<Request>& reqs, StepBatch& batch) {
  const Request& r = reqs[id];
  const int64_t c = std::min<int64_t>(r.prefill_target() - r.prefilled, batch.budget);
  if (c <= 0) return;
  chunks_.emplace_back(id, c);
  StepShape& shape = batch.shape;
  shape.prefill_seqs += 1;
  shape.prefill_tokens += double(c);
  shape.prefill_ctx_tokens += double(r.prefilled + c);
  shape.prefill_attn_pairs += double(c) * double(r.prefilled) + 0.5 * double(c) * double(c + 1);
  if (r.prefilled + c == r.prefill_target()) shape.logits += 1;
  if (r.preemptions > 0) stats_.recomputed_tokens += double(c);
  batch.budget -= c;
}

// Records the queueing a request ends by being admitted now: its first admission, a wait after
// a preemption, or (PD) a wait for room on the decode instance.
static void note_admission(Request& r, double now) {
  if (r.admitted < 0) r.admitted = now;
  if (r.requeued_at >= 0) {  // back after a preemption: that wait is queueing too
    r.requeue_wait_s += now - r.requeued_at;
    r.requeued_at = -1;
  }
  if (r.decode_queued_at >= 0) {  // PD: waited for room on the decode instance
    r.decode_wait_s += now - r.decode_queued_at;
    r.decode_queued_at = -1;
  }
}

bool Engine::admit_waiting(double now, bool preempted, std::vector<Request>& reqs, StepBatch& batch) {
  bool kv_blocked = false;
  while (!preempted && waiting_head_ < waiting_.size() && batch.budget > 0 && int64_t(running_.size()) < max_seqs_) {
    const int id = waiting_[waiting_head_];
    // OnDemand: this step's decodes take one slot each before the new prompt may, and so does the
    // new request itself when it arrives prefilled (a PD decode instance) and decodes at once.
    const bool pulls = pull_s_ >= 0 && reqs[id].prefill_engine >= 0 && reqs[id].prefill_kv > 0;
    const bool decodes_now = reqs[id].prefilled >= reqs[id].prefill_target() && !pulls;
    const int64_t pending = policy_ == KvPolicy::OnDemand ? int64_t(decoding_.size()) + (decodes_now ? 1 : 0) : 0;
    if (kv_used_ + pending + need(reqs[id]) > kv_tokens_) {
      kv_blocked = true;
      break;
    }
    ++waiting_head_;
    running_.push_back(id);
    reqs[id].kv_held = need(reqs[id]);
    kv_used_ += reqs[id].kv_held;
    note_admission(reqs[id], now);
    if (pulls) {
      reqs[id].ready_at = now + pull_s_;  // decodes once its KV has arrived
      pulls_.push_back(id);
      continue;
    }
    if (reqs[id].prefilled >= reqs[id].prefill_target()) batch_decode(id, reqs, batch);
    else batch_prefill_chunk(id, reqs, batch);
  }
  if (waiting_head_ > 1024 && waiting_head_ * 2 > waiting_.size()) {
    waiting_.erase(waiting_.begin(), waiting_.begin() + long(waiting_head_));
    waiting_head_ = 0;
  }
  return kv_blocked;
}

StepCost Engine::price_step_run(double now, double horizon, const std::vector<Request>& reqs, const StepShape& shape) {
  k_ = 1;
  StepCost cost = model_->step(shape);
  first_step_s_ = cost.total_s;  // a first token decoded in this event comes after this step, not the mean one
  if (!chunks_.empty() || decoding_.empty()) return cost;
  int64_t k_done = std::numeric_limits<int64_t>::max();
  for (int id : decoding_) k_done = std::min(k_done, reqs[id].osl - reqs[id].generated);
  int64_t k = std::max<int64_t>(1, k_done);
  if (std::isfinite(horizon) && cost.total_s > 0)
    k = std::min<int64_t>(k, std::max<int64_t>(1, int64_t(std::ceil((horizon - now) / cost.total_s))));
  if (policy_ == KvPolicy::OnDemand)  // every step takes one KV slot per decode: stop where it runs out
    k = std::min<int64_t>(k, std::max<int64_t>(1, (kv_tokens_ - kv_used_) / int64_t(decoding_.size())));
  if (k > 1) {
    StepShape mid = shape;
    mid.decode_ctx_tokens += shape.decode_seqs * double(k - 1) / 2.0;
    cost = model_->step(mid);
  }
  k_ = k;
  return cost;
}

bool Engine::run_ends_a_request(const std::vector<Request>& reqs) const {
  bool ends = false;
  for (int id : decoding_) ends = ends || reqs[id].generated + k_ >= reqs[id].osl;
  if (role_ != EngineRole::Prefill)
    for (const auto& [id, c] : chunks_) {
      const Request& r = reqs[id];
      ends = ends || (r.prefilled + c >= r.prefill_target() && r.generated + 1 >= r.osl);
    }
  return ends;
}

void Engine::account_step_run(const StepCost& cost, const StepShape& shape, double dur, bool kv_limited) {
  const double kd = double(k_);
  stats_.busy_s += dur;
  stats_.steps += kd;
  stats_.gemm_s += cost.gemm_s * kd;
  stats_.gemm_memory_s += cost.gemm_memory_s * kd;
  stats_.gemm_compute_s += cost.gemm_compute_s * kd;
  stats_.decode_attn_s += cost.decode_attn_s * kd;
  stats_.prefill_attn_s += cost.prefill_attn_s * kd;
  stats_.collective_s += cost.collective_s * kd;
  stats_.exposed_collective_s += cost.exposed_collective_s * kd;
  stats_.elementwise_s += cost.elementwise_s * kd;
  stats_.overhead_s += cost.overhead_s * kd;
  stats_.measured_s += cost.measured_s * kd;
  if (cost.outside_measured) stats_.outside_measured_steps += kd;
  stats_.decode_seq_s += shape.decode_seqs * dur;
  if (kv_limited) stats_.kv_blocked_s += dur;
  stats_.prefill_tokens += shape.prefill_tokens;
  stats_.decode_tokens += shape.decode_seqs * kd;
}

void Engine::start_step(double now, double horizon, std::vector<Request>& reqs) {
  decoding_.clear();
  chunks_.clear();
  pulls_.clear();
  const bool preempted = policy_ == KvPolicy::OnDemand && preempt_for_decodes(now, reqs);
  StepBatch batch{StepShape{}, max_batched_};
  for (int id : running_)
    if (reqs[id].prefilled >= reqs[id].prefill_target() && reqs[id].ready_at <= now && batch.budget > 0)
      batch_decode(id, reqs, batch);
  for (int id : running_)
    if (reqs[id].prefilled < reqs[id].prefill_target() && batch.budget > 0) batch_prefill_chunk(id, reqs, batch);
  const bool kv_blocked = admit_waiting(now, preempted, reqs, batch);
  batch.shape.logits += batch.shape.decode_seqs;
  if (decoding_.empty() && chunks_.empty()) return;  // nothing runnable now: no step
  // A request of this instance still pulling its KV joins as soon as it arrives, like any
  // outside arrival: identical decode steps are not batched past that moment.
  for (int id : running_)
    if (reqs[id].ready_at > now) horizon = std::min(horizon, reqs[id].ready_at);

  const StepCost cost = price_step_run(now, horizon, reqs, batch.shape);
  if (policy_ == KvPolicy::OnDemand)
    for (int id : decoding_) {
      reqs[id].kv_held += k_;
      kv_used_ += k_;
    }
  step_completes_ = run_ends_a_request(reqs);
  const double dur = cost.total_s * double(k_);
  in_step_ = true;
  step_start_ = now;
  step_end_ = now + dur;
  // Preempting is the KV cache at its limit too.
  account_step_run(cost, batch.shape, dur, kv_blocked || preempted);
}

void Engine::finish_step(std::vector<Request>& reqs, std::vector<int>& prefilled, std::vector<int>& completed) {
  in_step_ = false;
  const double end = step_end_;
  const double first_step_end = step_start_ + first_step_s_;
  std::vector<int> leaving;
  for (int id : decoding_) {
    Request& r = reqs[id];
    if (r.first_token < 0) r.first_token = first_step_end;  // decode instance: its first token
    r.generated += k_;
    if (r.generated >= r.osl) {
      r.finish = end;
      leaving.push_back(id);
      completed.push_back(id);
    }
  }
  for (const auto& [id, c] : chunks_) {
    Request& r = reqs[id];
    r.prefilled += c;
    if (r.prefilled < r.prefill_target()) continue;
    if (r.prefill_end < 0) r.prefill_end = end;
    if (role_ == EngineRole::Prefill) {
      // Leaves the batch but keeps its KV here until its decode instance has pulled it.
      r.prefill_kv = r.kv_held;
      r.kv_held = 0;
      leaving.push_back(id);
      prefilled.push_back(id);
    } else {
      r.generated += 1;  // the step that finishes the prompt (or its recompute) samples a token
      if (r.first_token < 0) r.first_token = end;
      if (r.generated >= r.osl) {
        r.finish = end;
        leaving.push_back(id);
        completed.push_back(id);
      }
    }
  }
  if (leaving.empty()) return;
  for (int id : leaving) release(reqs[id]);
  std::sort(leaving.begin(), leaving.end());
  running_.erase(std::remove_if(running_.begin(), running_.end(),
                                [&](int id) { return std::binary_search(leaving.begin(), leaving.end(), id); }),
                 running_.end());
}

}  // namespace tpbench
