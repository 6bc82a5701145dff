#pragma once
// One continuous-batching engine (a vLLM instance of TP N), simulated iteration by
// iteration: each step schedules every running decode (one token each), continues partial
// prefills, then admits waiting requests while the token budget, max_num_seqs and the KV
// cache allow (chunked prefill). Two KV policies:
//  - Reserve: a request reserves ISL+OSL KV tokens at admission (ISL on a prefill-only
//    instance), so admission is limited by KV capacity and nothing is ever preempted.
//  - OnDemand (vLLM): admission needs room for the prompt only, and every decode token takes
//    one more KV slot. When a step's decodes do not fit, the newest running request is
//    preempted: its KV is freed and it goes back to the head of the queue, to recompute its
//    prompt and the tokens it had generated (vLLM's recompute preemption). While preempting,
//    nothing new is admitted.
//
// PD (vLLM's NIXL connector): a Prefill instance keeps a finished prompt's KV until the Decode
// instance that admitted the request has pulled it (free_prefill_kv); a Decode instance
// (set_kv_pull) does not decode an admitted request before its KV has arrived.
//
// Speed: when a step has no prefill work, the batch stays the same until the next completion,
// so k identical decode steps are taken as one event (each at the mid-point context's step
// time, exact for the sum while step time is affine in the context length; a first token inside
// such a batch comes after the first step, timed at its own context). `horizon`, and any of the instance's own requests
// still pulling KV, cap k so that arrivals join at most one step late, as they would in vLLM.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "harness/perf/step_time_source.hpp"

namespace tpbench {

enum class EngineRole { Aggregated, Prefill, Decode };
enum class KvPolicy { Reserve, OnDemand };

struct Request {
  int64_t isl = 0, osl = 0;
  double arrival = 0;         // submitted by its user
  double admitted = -1;       // first scheduled on the instance that prefills it
  double prefill_end = -1;
  double first_token = -1, finish = -1;
  int64_t prefilled = 0, generated = 0;
  int64_t recompute = 0;      // generated tokens to prefill again after a preemption
  int64_t kv_held = 0;        // KV tokens this request holds on its current instance
  int preemptions = 0;
  double requeued_at = -1;    // when its last preemption put it back in the queue
  double requeue_wait_s = 0;  // time spent waiting again after preemptions
  double decode_queued_at = -1;  // PD: when its prefill ended and it joined a decode instance's queue
  double decode_wait_s = 0;      // PD: from then to admission by the decode instance
  // PD, as vLLM's NIXL connector does it: the prefill instance keeps the prompt's KV until the
  // decode instance that admitted the request has pulled it (ready_at = admission + transfer).
  int prefill_engine = -1;       // index of the prefill instance that holds prefill_kv
  int64_t prefill_kv = 0;        // KV tokens still held there
  double ready_at = 0;           // decode instance: not decoded before its KV has arrived
  double pull_wait_s = 0;        // PD: wait for busy links before its pull started
  int user = 0;
  int64_t prefill_target() const { return isl + recompute; }
};

// Time-weighted sums over the steps an engine ran (seconds unless noted).
struct EngineStats {
  double busy_s = 0, steps = 0;
  double gemm_s = 0, gemm_memory_s = 0, gemm_compute_s = 0, decode_attn_s = 0, prefill_attn_s = 0;
  double collective_s = 0, exposed_collective_s = 0, elementwise_s = 0, overhead_s = 0;
  double measured_s = 0;              // taken whole from measured sweep tables
  double outside_measured_steps = 0;  // steps whose measured lookup was clamped or extrapolated
  double decode_seq_s = 0;   // integral of the decode batch size over time
  double kv_blocked_s = 0;   // time during which a waiting request could not be admitted for KV
  // PD: time idle with work it cannot start (not part of busy_s): a prefill instance whose KV
  // is held by finished prefills not yet pulled (back-pressure), a decode instance whose only
  // work is still pulling its KV.
  double kv_stalled_s = 0;
  double prefill_tokens = 0, decode_tokens = 0;
  double preemptions = 0, recomputed_tokens = 0;  // OnDemand KV policy only
  void add(const EngineStats& o);
};

class Engine {
 public:
  Engine(EngineRole role, const StepTimeSource* model, int64_t kv_tokens, int64_t max_batched, int64_t max_seqs,
         KvPolicy policy = KvPolicy::Reserve);
  void enqueue(int id) { waiting_.push_back(id); }
  // Decode instance of a PD pool: a request admitted here pulls its KV from its prefill
  // instance for `seconds` before its first decode step.
  void set_kv_pull(double seconds) { pull_s_ = seconds; }
  // The requests admitted by the last start_step that now pull their KV (their ready_at set).
  const std::vector<int>& pulls() const { return pulls_; }
  // Prefill instance: frees the prompt KV that a finished prefill kept for its decode instance.
  void free_prefill_kv(Request& r) { kv_used_ -= r.prefill_kv; r.prefill_kv = 0; }
  // The event loop tells an idle instance with queued work how long it waited (kv_stalled_s).
  void note_stalled(double seconds) { stats_.kv_stalled_s += seconds; }
  bool in_step() const { return in_step_; }
  bool has_work() const { return !running_.empty() || waiting_head_ < waiting_.size(); }
  double step_end() const { return step_end_; }
  // Whether the step in flight ends with a request's last token (an aggregated or decode
  // instance), the only moment at which a closed loop's user sends a new request.
  bool step_completes() const { return in_step_ && step_completes_; }
  size_t load() const { return running_.size() + waiting_.size() - waiting_head_; }
  const EngineStats& stats() const { return stats_; }
  int64_t kv_used() const { return kv_used_; }
  int64_t kv_capacity() const { return kv_tokens_; }

  void start_step(double now, double horizon, std::vector<Request>& reqs);
  // Starts no step (in_step() stays false) when nothing can run now: every running request is
  // still pulling its KV and nothing can be admitted.
  // Applies the step's effects at step_end(): ids whose prefill finished on a Prefill engine go
  // to `prefilled` (their KV stays here until free_prefill_kv), ids that produced their last
  // token go to `completed`.
  void finish_step(std::vector<Request>& reqs, std::vector<int>& prefilled, std::vector<int>& completed);

 private:
  // KV tokens taken at admission.
  int64_t need(const Request& r) const {
    if (policy_ == KvPolicy::OnDemand || role_ == EngineRole::Prefill) return r.prefill_target();
    return r.isl + r.osl;
  }
  // OnDemand: frees running requests, newest first, until `decodes` more tokens fit.
  bool preempt_for_decodes(double now, std::vector<Request>& reqs);
  void release(Request& r) { kv_used_ -= r.kv_held; r.kv_held = 0; }

  // start_step's parts. The batch being built: its shape and the token budget left.
  struct StepBatch {
    StepShape shape;
    int64_t budget = 0;
  };
  // Batching: a running request's next decode token, or its next prefill chunk (as much of the
  // prompt as the budget allows).
  void batch_decode(int id, const std::vector<Request>& reqs, StepBatch& batch);
  void batch_prefill_chunk(int id, const std::vector<Request>& reqs, StepBatch& batch);
  // Admission: waiting requests in FIFO order while the budget, max_num_seqs and the KV cache
  // allow (none while preempting); returns whether one was held back for KV.
  bool admit_waiting(double now, bool preempted, std::vector<Request>& reqs, StepBatch& batch);
  // The event's step count k_ (identical decode steps taken together, capped by the first
  // completion, `horizon` and, OnDemand, the KV left) and the cost of its mean step.
  StepCost price_step_run(double now, double horizon, const std::vector<Request>& reqs, const StepShape& shape);
  // Whether the event ends with some request's last token.
  bool run_ends_a_request(const std::vector<Request>& reqs) const;
  // Accounting: the event's k_ steps lasting `dur` in all into stats_.
  void account_step_run(const StepCost& cost, const StepShape& shape, double dur, bool kv_limited);

  EngineRole role_;
  KvPolicy policy_ = KvPolicy::Reserve;
  const StepTimeSource* model_;
  int64_t kv_tokens_, max_batched_, max_seqs_;
  int64_t kv_used_ = 0;
  double pull_s_ = -1;         // < 0: requests arrive with their KV (not a PD decode instance)
  std::vector<int> pulls_;
  std::vector<int> running_;   // admission order
  std::vector<int> waiting_;   // FIFO (front = index waiting_head_)
  size_t waiting_head_ = 0;
  // The step in flight.
  bool in_step_ = false;
  double step_start_ = 0, step_end_ = 0;
  int64_t k_ = 1;
  bool step_completes_ = false;
  double first_step_s_ = 0;  // the event's first step alone (k_ > 1: shorter than the mean step)
  std::vector<int> decoding_;
  std::vector<std::pair<int, int64_t>> chunks_;
  EngineStats stats_;
};

}  // namespace tpbench
