#include "harness/sim/serving_sim.hpp"

#include <algorithm>
#include <limits>
#include <queue>
#include <stdexcept>
#include <vector>

#include "harness/common/error.hpp"
#include "harness/perf/kv_capacity.hpp"
#include "harness/perf/phased_step_source.hpp"

namespace tpbench {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kMaxConcurrency = 100000;
constexpr int64_t kMaxRequests = 2000000;

// The layout's scheme with the pool's expert parallelism.
StepScheme pool_scheme(const StepScheme& s, const Pool& pool) {
  StepScheme out = s;
  out.ep = pool.ep;
  return out;
}

PoolReport pool_report(const ModelSpec& m, const Pool& pool, const SystemProfile& prof, const PerfParams& par,
                       const StepScheme& layout_scheme, int64_t seq_tokens) {
  const StepScheme scheme = pool_scheme(layout_scheme, pool);
  if (scheme.plan != PlanKind::WeightGather) validate_tp(m, pool.tp);
  PoolReport r;
  r.tp = pool.tp;
  r.ep = pool.ep;
  r.instances = pool.instances;
  r.kv_tokens = kv_capacity(m, pool.tp, prof, par, scheme).tokens;
  r.kv_max_sequences = seq_tokens > 0 ? r.kv_tokens / seq_tokens : 0;
  return r;
}

// The instance a new request goes to: the one with the fewest running and waiting requests, as
// a load-aware router such as llm-d's inference gateway picks it; among equals one that is not
// in a step (the instance whose completion triggered the request is), then the first.
size_t least_loaded(const std::vector<Engine>& pool) {
  size_t best = 0;
  for (size_t i = 1; i < pool.size(); ++i)
    if (pool[i].load() < pool[best].load() ||
        (pool[i].load() == pool[best].load() && pool[best].in_step() && !pool[i].in_step()))
      best = i;
  return best;
}

// Aggregated replicas behind one router, one global clock: the C users share one pool of
// prompts, and each request (a user's first, or the next one after a completion) goes to the
// least-loaded replica, so replicas stay within one request of each other whether or not C is
// a multiple of their number. A replica's identical decode steps are taken as one event up to
// its next completion, capped at the earliest completion already scheduled elsewhere (replicas
// started later in the same pass can end sooner). A request routed to a replica mid-step joins
// when that step ends; routing practically never does that, since the replica that just
// completed is, among balanced replicas, the least loaded one and not in a step.
void run_replicas(std::vector<Engine>& reps, std::vector<Request>& reqs, int users, int64_t quota,
                  const ServingConfig& cfg) {
  int64_t issued = 0;
  auto submit = [&](int user, double t) {
    Request r;
    r.isl = cfg.isl; r.osl = cfg.osl; r.arrival = t; r.user = user;
    reqs.push_back(r);
    reps[least_loaded(reps)].enqueue(int(reqs.size() - 1));
    ++issued;
  };
  for (int u = 0; u < users && issued < quota; ++u) submit(u, 0.0);
  double now = 0;
  std::vector<int> prefilled, completed;
  for (;;) {
    double horizon = kInf;
    for (const Engine& e : reps)
      if (e.step_completes()) horizon = std::min(horizon, e.step_end());
    for (Engine& e : reps) {
      if (e.in_step() || !e.has_work()) continue;
      e.start_step(now, horizon, reqs);
      // Nothing outside can free an aggregated engine's KV: work it cannot start now it never will.
      if (!e.in_step()) throw std::runtime_error("simulator: a replica has queued work it can never run");
      if (e.step_completes()) horizon = std::min(horizon, e.step_end());
    }
    Engine* next = nullptr;
    for (Engine& e : reps)
      if (e.in_step() && (!next || e.step_end() < next->step_end())) next = &e;
    if (!next) break;  // nothing left anywhere
    now = next->step_end();
    completed.clear();
    next->finish_step(reqs, prefilled, completed);
    for (int id : completed)
      if (issued < quota) submit(reqs[id].user, now);
  }
}

// A PD decode instance's KV pull completing: the request may decode, and its prefill instance
// frees the prompt's KV.
struct Ready {
  double at;
  int id;
  bool operator>(const Ready& o) const { return at > o.at; }
};

// Prefill pool -> decode pool, one global clock. As vLLM's NIXL connector does it: a finished
// prefill joins the least-loaded decode instance's queue at once and keeps its KV on the prefill
// instance; the decode instance admits it when it has room, pulls the KV (transfer_s), then
// decodes it, and only then is the prefill instance's KV freed. A decode pool that cannot keep
// up therefore fills the prefill instances' KV and stops their admissions (back-pressure).
// Links: a pull holds its prefill instance's and its decode instance's links (their ranks' NICs)
// at full bandwidth while its bytes move (link_busy_s; the link's latency does not hold it), and
// pulls that need a busy link wait for it, first come first served (Request::pull_wait_s).
// A larger instance's NICs carry several pulls at once, one per group of `links` ranks (a TP8
// decode instance takes pulls from two TP4 prefill instances side by side): `pre_lanes` and
// `dec_lanes` per instance, each lane first come first served.
void run_pd(std::vector<Engine>& pre, std::vector<Engine>& dec, std::vector<Request>& reqs, int users,
            int64_t quota, double transfer_s, double link_busy_s, int pre_lanes, int dec_lanes,
            const ServingConfig& cfg) {
  int64_t issued = 0;
  auto submit = [&](int user, double t) {
    Request r;
    r.isl = cfg.isl; r.osl = cfg.osl; r.arrival = t; r.user = user;
    reqs.push_back(r);
    pre[least_loaded(pre)].enqueue(int(reqs.size() - 1));
    ++issued;
  };
  for (int u = 0; u < users && issued < quota; ++u) submit(u, 0.0);
  for (auto& d : dec) d.set_kv_pull(transfer_s);
  std::priority_queue<Ready, std::vector<Ready>, std::greater<Ready>> ready;
  // Per instance, when each of its lanes is free again.
  std::vector<std::vector<double>> pre_link_free(pre.size(), std::vector<double>(size_t(pre_lanes), 0.0)),
      dec_link_free(dec.size(), std::vector<double>(size_t(dec_lanes), 0.0));
  auto earliest = [](std::vector<double>& lanes) -> double& { return *std::min_element(lanes.begin(), lanes.end()); };
  // A decode instance's new pulls, in admission order, each on its two links.
  auto schedule_pulls = [&](size_t d, double now) {
    for (int id : dec[d].pulls()) {
      Request& q = reqs[size_t(id)];
      double& pre_lane = earliest(pre_link_free[size_t(q.prefill_engine)]);
      double& dec_lane = earliest(dec_link_free[d]);
      const double start = std::max({now, pre_lane, dec_lane});
      q.pull_wait_s = start - now;
      q.ready_at = start + transfer_s;  // not before: the engine's own estimate assumed free links
      pre_lane = dec_lane = start + link_busy_s;
      ready.push({q.ready_at, id});
    }
  };
  double now = 0;
  std::vector<int> prefilled, completed;
  std::vector<Engine*> all;
  for (auto& e : pre) all.push_back(&e);
  for (auto& e : dec) all.push_back(&e);
  for (;;) {
    double horizon = ready.empty() ? kInf : ready.top().at;
    for (Engine* e : all)
      if (e->in_step()) horizon = std::min(horizon, e->step_end());
    for (size_t i = 0; i < all.size(); ++i) {
      Engine* e = all[i];
      if (e->in_step() || !e->has_work()) continue;
      e->start_step(now, horizon, reqs);
      if (i >= pre.size()) schedule_pulls(i - pre.size(), now);
      if (e->in_step()) horizon = std::min(horizon, e->step_end());
      if (!e->pulls().empty()) horizon = std::min(horizon, ready.top().at);
    }
    // Next event: the earliest step end or KV arrival.
    Engine* next = nullptr;
    double t = ready.empty() ? kInf : ready.top().at;
    for (Engine* e : all)
      if (e->in_step() && e->step_end() < t) { t = e->step_end(); next = e; }
    if (t == kInf) break;  // nothing left anywhere
    for (Engine* e : all)  // idle with queued work until t: KV held for pulls (back-pressure)
      if (!e->in_step() && e->has_work()) e->note_stalled(t - now);
    now = t;
    if (!next) {
      const Ready r = ready.top();
      ready.pop();
      Request& q = reqs[size_t(r.id)];
      if (q.prefill_kv > 0) pre[size_t(q.prefill_engine)].free_prefill_kv(q);
      continue;
    }
    prefilled.clear();
    completed.clear();
    next->finish_step(reqs, prefilled, completed);
    for (int id : prefilled) {
      Request& q = reqs[size_t(id)];
      q.prefill_engine = int(next - &pre[0]);
      q.decode_queued_at = now;
      dec[least_loaded(dec)].enqueue(id);
    }
    for (int id : completed)
      if (issued < quota) submit(reqs[id].user, now);
  }
}

void summarize(ServingPoint& p, const std::vector<Request>& reqs, const ServingConfig& cfg) {
  double ttft = 0, tpot = 0, e2e = 0, queue = 0, end = 0, out = 0, pull_wait = 0;
  for (const Request& r : reqs) {
    if (r.finish < 0) throw std::runtime_error("simulator: a request never finished");
    ttft += r.first_token - r.arrival;
    e2e += r.finish - r.arrival;
    queue += r.admitted - r.arrival + r.requeue_wait_s + r.decode_wait_s;
    pull_wait += r.pull_wait_s;
    tpot += r.osl > 1 ? (r.finish - r.first_token) / double(r.osl - 1) : 0.0;
    end = std::max(end, r.finish);
    out += double(r.osl);
  }
  const double n = double(reqs.size());
  p.requests = int64_t(reqs.size());
  p.duration_s = end;
  p.ttft_s = ttft / n;
  p.tpot_s = tpot / n;
  p.e2e_s = e2e / n;
  p.queue_s = queue / n;
  p.kv_pull_wait_s = pull_wait / n;
  p.output_tok_s = out / end;
  p.tokens_per_s_per_gpu = p.output_tok_s / p.num_gpus;
  p.per_user_inv_tpot = p.tpot_s > 0 ? 1.0 / p.tpot_s : 0.0;
  // With one output token there is no decode step after the first token: TPOT and its inverse
  // are undefined (NaN, written as null), not 0.
  const bool any_decode = std::any_of(reqs.begin(), reqs.end(), [](const Request& r) { return r.osl > 1; });
  if (!any_decode) p.tpot_s = p.per_user_inv_tpot = std::numeric_limits<double>::quiet_NaN();
  p.per_user_out_div_conc = p.output_tok_s / cfg.concurrency;
}

// Records which source each phase the pool runs took its step times from.
void note_sources(PoolReport& r, const PhasedStepSource& src, bool decodes, bool prefills) {
  if (decodes) r.decode_source = src.decode_origin();
  if (prefills) r.prefill_source = src.prefill_origin();
  r.emulated = (decodes && src.decode_emulated()) || (prefills && src.prefill_emulated());
}

void mark_point_source(ServingPoint& p) {
  bool measured = false, roofline = false;
  for (const PoolReport* r : {&p.main, &p.prefill})
    for (const std::optional<StepTimeOrigin>* s : {&r->decode_source, &r->prefill_source}) {
      measured = measured || *s == StepTimeOrigin::Measured;
      roofline = roofline || *s == StepTimeOrigin::Roofline;
    }
  p.step_time_source = measured && roofline ? StepTimeOrigin::Mixed
                       : measured           ? StepTimeOrigin::Measured
                                            : StepTimeOrigin::Roofline;
  p.emulated = p.main.emulated || p.prefill.emulated;
}

}  // namespace

ServingPoint simulate_serving(const Layout& layout, const ModelSpec& m, const SystemProfile& prof,
                              const PerfParams& par, const ServingConfig& cfg) {
  if (cfg.concurrency < 1) throw UsageError("concurrency must be >= 1");
  if (cfg.isl < 1 || cfg.osl < 1) throw UsageError("ISL and OSL must be >= 1");
  // vLLM refuses a token budget below max_num_seqs (every running sequence must fit a step);
  // below it the simulation would also crawl one token at a time.
  if (par.max_num_batched_tokens < par.max_num_seqs)
    throw UsageError("max_num_batched_tokens (" + std::to_string(par.max_num_batched_tokens) +
                     ") must be at least max_num_seqs (" + std::to_string(par.max_num_seqs) + "), as vLLM requires");
  // Memory and time grow with the requests simulated (about 200 bytes and a few steps each).
  if (cfg.concurrency > kMaxConcurrency)
    throw UsageError("concurrency " + std::to_string(cfg.concurrency) + " is above the simulator's limit of " +
                     std::to_string(kMaxConcurrency));
  if (cfg.prompts_per_user < 1 || int64_t(cfg.prompts_per_user) * cfg.concurrency > kMaxRequests)
    throw UsageError("concurrency x prompts per user = " +
                     std::to_string(int64_t(cfg.prompts_per_user) * cfg.concurrency) +
                     " requests: the simulator runs 1 to " + std::to_string(kMaxRequests));
  ServingPoint p;
  p.layout = layout.name();
  p.scheme = cfg.scheme;
  p.concurrency = cfg.concurrency;
  p.num_gpus = layout.num_gpus();
  const int64_t quota = int64_t(cfg.prompts_per_user) * cfg.concurrency;
  const KvPolicy policy = par.kv_on_demand ? KvPolicy::OnDemand : KvPolicy::Reserve;
  std::vector<Request> reqs;
  reqs.reserve(size_t(quota));

  if (!layout.disaggregated) {
    p.main = pool_report(m, layout.replicas, prof, par, cfg.scheme, cfg.isl + cfg.osl);
    if (p.main.kv_max_sequences < 1) {
      p.feasible = false;
      p.reason = "KV cache of a TP" + std::to_string(layout.replicas.tp) + " instance holds " +
                 std::to_string(p.main.kv_tokens) + " tokens, less than one ISL+OSL sequence";
      return p;
    }
    const StepCostModel cost_model(m, layout.replicas.tp, prof, par, pool_scheme(cfg.scheme, layout.replicas));
    const PhasedStepSource model(&cost_model, cfg.measured, stack_step_overhead_s(par, layout.replicas.tp),
                                 step_time_scale(par, layout.replicas.tp));
    note_sources(p.main, model, true, true);
    std::vector<Engine> reps;
    for (int i = 0; i < layout.replicas.instances; ++i)
      reps.emplace_back(EngineRole::Aggregated, &model, p.main.kv_tokens, par.max_num_batched_tokens, par.max_num_seqs,
                        policy);
    run_replicas(reps, reqs, cfg.concurrency, quota, cfg);
    for (const auto& e : reps) p.main.stats.add(e.stats());
  } else {
    p.prefill = pool_report(m, layout.prefill, prof, par, cfg.scheme, cfg.isl);
    p.main = pool_report(m, layout.decode, prof, par, cfg.scheme, cfg.isl + cfg.osl);
    if (p.prefill.kv_max_sequences < 1 || p.main.kv_max_sequences < 1) {
      p.feasible = false;
      p.reason = "KV cache of a prefill or decode instance is smaller than one sequence";
      return p;
    }
    const StepCostModel pr(m, layout.prefill.tp, prof, par, pool_scheme(cfg.scheme, layout.prefill)),
        dr(m, layout.decode.tp, prof, par, pool_scheme(cfg.scheme, layout.decode));
    const PhasedStepSource pm(&pr, cfg.measured, stack_step_overhead_s(par, layout.prefill.tp),
                              step_time_scale(par, layout.prefill.tp)),
        dm(&dr, cfg.measured, stack_step_overhead_s(par, layout.decode.tp), step_time_scale(par, layout.decode.tp));
    note_sources(p.prefill, pm, false, true);
    note_sources(p.main, dm, true, par.kv_on_demand);  // on-demand KV: preempted requests recompute there
    std::vector<Engine> pre, dec;
    for (int i = 0; i < layout.prefill.instances; ++i)
      pre.emplace_back(EngineRole::Prefill, &pm, p.prefill.kv_tokens, par.max_num_batched_tokens, par.max_num_seqs, policy);
    for (int i = 0; i < layout.decode.instances; ++i)
      dec.emplace_back(EngineRole::Decode, &dm, p.main.kv_tokens, par.max_num_batched_tokens, par.max_num_seqs, policy);
    // Ranks move their own KV heads in parallel, each over its own NIC: as many links as the
    // smaller instance has ranks (a TP8 prefill sending to a TP4 decode lands on 4 NICs).
    const int links = std::min(layout.prefill.tp, layout.decode.tp);
    const double bw = (cfg.kv_link_bandwidth > 0 ? cfg.kv_link_bandwidth : prof.kv_link_bandwidth) * links;
    const double bytes_s = double(m.kv_bytes_per_token()) * double(cfg.isl) / bw;
    p.kv_transfer_s = prof.kv_link_latency_s + bytes_s;
    run_pd(pre, dec, reqs, cfg.concurrency, quota, p.kv_transfer_s, bytes_s, std::max(1, layout.prefill.tp / links),
           std::max(1, layout.decode.tp / links), cfg);
    for (const auto& e : pre) p.prefill.stats.add(e.stats());
    for (const auto& e : dec) p.main.stats.add(e.stats());
  }
  summarize(p, reqs, cfg);
  mark_point_source(p);
  return p;
}

}  // namespace tpbench
