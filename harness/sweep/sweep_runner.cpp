#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "harness/common/error.hpp"
#include "harness/common/interrupt.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/perf/inputs.hpp"
#include "harness/plan/plan.hpp"
#include "harness/sweep/collective_check.hpp"
#include "harness/sweep/measure_point.hpp"
#include "harness/sweep/report.hpp"
#include "harness/sweep/sweep.hpp"
#include "harness/sweep/verify.hpp"

namespace tpbench {
namespace {

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
  }
  return "a signal";
}

ModelSpec load_model(const SweepOptions& o) {
  return select_model(o.model, o.model_config, o.weight_dtype, o.kv_dtype);
}

// At least one value and none twice (a value twice would measure two points with one key,
// which compare and predict --measured cannot tell apart).
template <typename T>
void need_values(const std::vector<T>& v, const char* what) {
  if (v.empty()) throw UsageError(std::string("--") + what + " needs at least one value");
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t k = 0; k < i; ++k)
      if (v[i] == v[k]) {
        std::ostringstream value;
        value << v[i];
        throw UsageError(std::string("--") + what + " gives " + value.str() + " twice");
      }
}

// Every point of the sweep, validated up front so that bad input fails before any work.
std::vector<StepConfig> expand(const SweepOptions& o, const ModelSpec& m) {
  need_values(o.plans, "plan");
  need_values(o.overlaps, "overlap");
  need_values(o.tp, "tp");
  need_values(o.ep, "ep");
  for (int ep : o.ep)
    if (std::none_of(o.tp.begin(), o.tp.end(), [&](int tp) { return ep > 0 && tp % ep == 0; }))
      throw UsageError("--ep " + std::to_string(ep) + " divides none of the --tp sizes");
  need_values(o.batch, "batch");
  need_values(o.context, "context");
  const Phase phase = parse_phase(o.phase);
  std::vector<StepConfig> out;
  for (const std::string& plan : o.plans)
    for (const std::string& overlap : o.overlaps)
      for (int tp : o.tp)
        for (int ep : o.ep)
        for (int64_t batch : o.batch)
          for (int64_t context : o.context) {
            StepConfig c;
            c.plan = parse_plan(plan);
            c.overlap = parse_overlap(overlap);
            c.phase = phase;
            if (tp % ep != 0) continue;  // this EP size runs with the TP sizes it divides
            c.tp = tp;
            c.ep = ep;
            c.batch = batch;
            c.context = context;
            c.chunk = o.chunk;
            c.layers = o.layers;
            c.split_chunks = o.split_chunks;
            validate_config(m, c);
            out.push_back(c);
          }
  return out;
}

void fill_breakdown(Point& p, const StepProgram& prog, const std::vector<double>& op_seconds, double scale) {
  const RankProgram& r = prog.ranks[0];
  // Layer ops count `scale` times (the model's layers over those run); prologue and head once.
  const OpTotals layers = totals(r, r.layers_begin, r.head_begin);
  OpTotals head = totals(r, r.head_begin);
  const OpTotals prologue = totals(r, 0, r.layers_begin);
  head.weight_bytes += prologue.weight_bytes;
  head.kv_bytes += prologue.kv_bytes;
  head.hbm_bytes += prologue.hbm_bytes;
  head.flops += prologue.flops;
  head.collective_bytes_per_rank += prologue.collective_bytes_per_rank;
  Breakdown& b = p.breakdown;
  b.weight_bytes = layers.weight_bytes * scale + head.weight_bytes;
  b.kv_bytes = layers.kv_bytes * scale + head.kv_bytes;
  b.hbm_bytes = layers.hbm_bytes * scale + head.hbm_bytes;
  b.flops = layers.flops * scale + head.flops;
  b.collective_bytes_per_rank = layers.collective_bytes_per_rank * scale + head.collective_bytes_per_rank;
  const MemoryFootprint f = footprint(r);
  b.memory_per_rank_bytes = double(f.total());  // of the layers run
  for (size_t i = 0; i < r.ops.size() && i < op_seconds.size(); ++i) {
    const bool layer_op = int(i) >= r.layers_begin && int(i) < r.head_begin;
    const double t = op_seconds[i] * (layer_op ? scale : 1.0);
    b.sum_of_ops_s += t;
    switch (r.ops[i].kind) {
      case OpKind::Gemm:
      case OpKind::GroupedGemm: b.gemm_s += t; break;
      case OpKind::Attention: b.attention_s += t; break;
      case OpKind::Collective: b.collective_s += t; break;
      default: b.other_s += t; break;
    }
  }
  if (p.step.median > 0) {
    b.achieved_hbm_bytes_per_s = b.hbm_bytes / p.step.median;
    b.achieved_flops_per_s = b.flops / p.step.median;
  }
}

}  // namespace

Point measure_point(Backend& backend, Backend& verify_backend, const ModelSpec& m, const StepConfig& c,
                    const SweepOptions& o, Verifier& verifier) {
  Point p;
  p.config = c;
  p.layers_total = m.layers;
  p.layers_run = c.layers > 0 ? c.layers : m.layers;
  p.emulated = backend.emulated();
  p.breakdown.collectives_from_profile = p.emulated;
  p.oversubscribed = backend.oversubscribed(c);
  const StepProgram prog = build_program(m, c);
  p.overlap_optimistic = p.emulated && c.overlap != Overlap::None && totals(prog.ranks[0]).collectives > 0;
  if (auto why = backend.cannot_run(prog)) {
    p.status = PointStatus::NotRunnable;
    p.reason = *why;
    return p;
  }
  try {
    if (o.verify) {
      const VerifyResult v = verifier.check(verify_backend, c);
      if (v.not_runnable) {
        p.verify_skipped = *v.not_runnable;  // verified stays null: nothing was compared
      } else {
        p.verified = v.passed;
        p.verify_rel_l2 = v.rel_l2;
        p.verify_tolerance = v.tolerance;
      }
    }
    backend.prepare(prog);
    const double scale = double(p.layers_total) / double(p.layers_run);
    std::vector<double> layer_samples, head_samples;
    auto cancelled = [] { return InterruptGuard::requested(); };
    int calls = 0;
    const SampleRun full = sample(o.sampling, [&] {
      const StepTime t = backend.run(Variant::Full);
      if (++calls > o.sampling.warmup) {  // the section medians skip the warm-up runs, as the step's do
        layer_samples.push_back(t.layers_s * scale);
        head_samples.push_back(t.prologue_s + t.head_s);
      }
      return t.scaled(scale);
    }, cancelled);
    p.step = full.summary;
    p.converged = full.converged;
    p.layers_median_s = summarize(layer_samples).median;
    p.head_median_s = summarize(head_samples).median;
    const bool communicates = totals(prog.ranks[0]).collectives > 0;
    if (o.exposed && communicates && !InterruptGuard::requested()) {
      auto variant = [&](Variant v) {
        return sample(o.sampling, [&] {
          const StepTime t = backend.run(v);
          return t.scaled(scale);
        }, cancelled).summary.median;
      };
      p.breakdown.compute_only_s = variant(Variant::ComputeOnly);
      p.breakdown.comm_only_s = variant(Variant::CommOnly);
      p.breakdown.exposed_collective_s = std::max(0.0, p.step.median - *p.breakdown.compute_only_s);
    }
    const std::vector<double> op_seconds = InterruptGuard::requested() ? std::vector<double>{} : backend.profile_ops();
    fill_breakdown(p, prog, op_seconds, scale);
    p.kernels = backend.kernel_choices();
    backend.release();
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    // What the backend chose or tried before it failed (null when it got no further).
    p.kernels = backend.kernel_choices();
    backend.release();
    p.status = dynamic_cast<const NotRunnableError*>(&e) ? PointStatus::NotRunnable : PointStatus::Failed;
    p.reason = e.what();
  }
  return p;
}

namespace {

// The CPU backend runs FP32 GEMMs at tens of GFLOP/s per core: a sweep of large batches or a
// large model takes hours. Estimated before any work from the points' FLOPs (every rank, every
// timed and warm-up step, the exposed-communication variants) at a generous 20 GFLOP/s per
// hardware thread (AVX2 FP32 FMA peak is about 32 per core at 2 GHz; OpenBLAS reaches ~60 % of
// it), so that the estimate errs short; refused above an hour unless --force.
void refuse_long_cpu_sweep(const SweepOptions& o, const ModelSpec& m, const std::vector<StepConfig>& configs) {
  const double steps_per_point = double(o.sampling.warmup + o.sampling.min_samples) * (o.exposed ? 3.0 : 1.0);
  double flops = 0;
  for (const StepConfig& c : configs) {
    const StepProgram prog = build_program(m, c);
    for (const RankProgram& r : prog.ranks) flops += totals(r).flops * steps_per_point;
  }
  const double rate = 2e10 * double(std::max(1u, std::thread::hardware_concurrency()));
  const double seconds = flops / rate;
  if (o.force || seconds <= 3600) return;
  char text[200];
  std::snprintf(text, sizeof text, "about %.1f hours (%.3g FLOP at an assumed %.0f GFLOP/s)", seconds / 3600, flops,
                rate / 1e9);
  throw UsageError(std::string("the cpu backend would need ") + text +
                   " for these points; use fewer or smaller points (--layers, --batch) or pass --force");
}

// The options with --emulate-tp's TP in place of --tp, after the checks of --tp, --batch and
// --context.
SweepOptions checked_grid(const SweepOptions& o) {
  SweepOptions opts = o;
  if (o.backend.emulate_tp > 0) {
    // --emulate-tp N measures TP=N (rank 0 of it) on one GPU: it is the TP of every point.
    if (!(o.tp.size() == 1 && (o.tp[0] == 1 || o.tp[0] == o.backend.emulate_tp)))
      throw UsageError("--emulate-tp " + std::to_string(o.backend.emulate_tp) + " sets the TP; drop --tp");
    if (o.backend.kind == BackendKind::Cpu) throw UsageError("--emulate-tp needs --backend cuda");
    opts.tp = {o.backend.emulate_tp};
  }
  for (const int tp : opts.tp)
    if (tp < 1 || tp > 64) throw UsageError("--tp values must be from 1 to 64, not " + std::to_string(tp));
  // Beyond these no buffer size is computable without overflow, and no run would end.
  for (const auto b : opts.batch)
    if (b < 1 || b > 1000000) throw UsageError("--batch values must be from 1 to 1000000, not " + std::to_string(b));
  for (const auto c : opts.context)
    if (c < 1 || c > 10000000) throw UsageError("--context values must be from 1 to 10000000, not " + std::to_string(c));
  return opts;
}

// A GPU throttling around the point (in either telemetry snapshot) marks it and warns.
void note_throttling(Point& p) {
  for (const nlohmann::json* t : {&p.telemetry_before, &p.telemetry_after})
    if (t->is_array())
      for (const auto& g : *t) p.throttled = p.throttled || g.value("throttled", false);
  if (p.throttled) std::cerr << "tpbench: warning: a GPU was throttling around this point (see 'telemetry')\n";
}

// The table and the exit status once every point ran: 1 when a verification failed.
int finish_sweep(std::ostream& report, const std::vector<Point>& points, const SweepOptions& o, const ModelSpec& model,
                 const Backend& backend) {
  const bool text = o.format == TableFormat::Text;
  if (text) report << "model " << model.name << ", backend " << backend.name() << "\n";
  print_sweep_table(report, points, o.format);
  if (text && !o.out.empty()) report << "wrote " << points.size() << " point(s) to " << o.out << "\n";
  for (const Point& p : points)
    if ((p.verified && !*p.verified) || (p.collectives_exact && !*p.collectives_exact)) {
      std::cerr << "tpbench: verification FAILED for at least one point (see 'verified' and 'collectives_exact')\n";
      return 1;
    }
  return 0;
}

}  // namespace

int run_sweep(const SweepOptions& o, std::ostream& out) {
  const ModelSpec model = load_model(o);
  const SweepOptions opts = checked_grid(o);
  const std::vector<StepConfig> configs = expand(opts, model);
  if (o.sampling.budget_s <= 0 || o.sampling.min_samples < 1 || o.sampling.warmup < 0 ||
      o.sampling.max_samples < o.sampling.min_samples)
    throw UsageError("sampling: need --budget > 0, --min-samples >= 1, --warmup >= 0, max >= min samples");
  if (!o.out.empty()) check_writable(o.out, {o.backend.profile, o.model_config});
  std::unique_ptr<Backend> backend = make_backend(o.backend);
  if (backend->kind() == BackendKind::Cpu) refuse_long_cpu_sweep(opts, model, configs);
  for (const StepConfig& c : configs) backend->validate(model, c);
  // The verification puts every rank of the reduced step, and its TP=1 reference, on one
  // process's GPUs: each process of an mpirun/srun launch would decide and run it on its own.
  if (o.verify && backend->processes() > 1)
    throw UsageError("--verify runs in one process; launch the verification without mpirun/srun");
  // Other processes of an mpirun/srun launch measure in lockstep and report nothing.
  const bool reporting = backend->reports();
  std::ostringstream discarded;
  std::ostream& report = reporting ? out : discarded;
  const nlohmann::json system = backend->system_info();
  std::optional<OutputLock> out_lock;  // held until the last document is written
  if (reporting && !o.out.empty()) out_lock.emplace(o.out);

  // Under emulation only rank 0 runs for timing; verification needs every rank.
  std::unique_ptr<Backend> verify_backend;
  if (o.verify && (o.backend.emulate_tp > 0 || o.backend.oversubscribe)) verify_backend = make_verification_backend(o.backend);
  // --verify also checks the TP groups' collectives exactly, on the communicator the points use
  // (not under emulation or oversubscription, where the points use none).
  CollectiveCheck collectives;
  const bool check_collectives_now = o.verify && !backend->emulated() && !o.backend.oversubscribe;
  if (check_collectives_now) collectives = check_collectives(backend->kind(), opts.tp, o.backend.gpus);
  const nlohmann::json collective_detail = check_collectives_now ? collectives.detail : nlohmann::json(nullptr);
  InterruptGuard guard;
  Verifier verifier(model, backend->verify_tolerance(model));
  std::vector<Point> points;
  auto write = [&](SweepState state) {
    if (reporting && !o.out.empty())
      write_file_atomic(o.out, sweep_document(o.command_line, system, model, points, state, collective_detail)
                                   .dump(2) + "\n");
  };
  write(SweepState::Running);  // a valid (empty) document from the start
  const bool show_progress = reporting && o.progress && isatty(STDERR_FILENO);
  for (size_t i = 0; i < configs.size(); ++i) {
    const StepConfig& c = configs[i];
    if (show_progress) {
      std::fprintf(stderr, "\r\033[K[%zu/%zu] %s %s %s TP=%d batch=%lld context=%lld ...", i + 1, configs.size(),
                   plan_name(c.plan), overlap_name(c.overlap), phase_name(c.phase), c.tp, (long long)c.batch,
                   (long long)c.context);
      std::fflush(stderr);
    }
    const nlohmann::json before = backend->telemetry();
    Point p = measure_point(*backend, verify_backend ? *verify_backend : *backend, model, c, o, verifier);
    p.telemetry_before = before;
    if (auto it = collectives.exact_by_tp.find(c.tp); it != collectives.exact_by_tp.end()) p.collectives_exact = it->second;
    p.telemetry_after = backend->telemetry();
    note_throttling(p);
    if (InterruptGuard::requested()) {
      if (show_progress) std::fprintf(stderr, "\r\033[K");
      write(SweepState::Interrupted);
      print_sweep_table(report, points, o.format);
      const int sig = InterruptGuard::signal_number();
      if (reporting) std::cerr << "tpbench: interrupted by " << signal_name(sig) << "; " << points.size()
                               << " finished point(s) kept" << (o.out.empty() ? "" : " in " + o.out) << "\n";
      return 128 + sig;  // the shell's status for a process ended by that signal
    }
    points.push_back(std::move(p));
    write(SweepState::Running);
  }
  write(SweepState::Complete);
  if (show_progress) std::fprintf(stderr, "\r\033[K");
  return finish_sweep(report, points, o, model, *backend);
}

}  // namespace tpbench
