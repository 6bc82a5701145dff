#include "harness/backend/cpu_backend.hpp"

#include <cblas.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "collectives/inprocess_communicator.hpp"
#include "harness/common/interrupt.hpp"
#include "harness/backend/detail/cpu_ops.hpp"
#include "harness/backend/logits_assembly.hpp"
#include "harness/backend/verify_tolerance.hpp"

namespace tpbench {
namespace {

using Clock = std::chrono::steady_clock;

int64_t physical_memory_bytes() {
  return int64_t(sysconf(_SC_PHYS_PAGES)) * int64_t(sysconf(_SC_PAGE_SIZE));
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown";
}

// One rank's state: its buffers, communicator, and per-op completion marks for this step.
struct Rank {
  const RankProgram* program = nullptr;
  detail::HostBuffers mem;
  std::unique_ptr<InProcessCommunicator> comm;
  std::unique_ptr<std::atomic<uint64_t>[]> done;  // step generation in which op i finished
  Clock::time_point prologue_end[2], layers_end[2], end[2];
  std::vector<double> op_seconds;  // filled by profiling runs
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const BackendOptions& o) : options_(o) {}
  ~CpuBackend() override { release(); }

  std::string name() const override { return "cpu"; }
  BackendKind kind() const override { return BackendKind::Cpu; }
  // FP32 arithmetic: summation order only, or FP8 storage rounded as the GPU rounds it.
  double verify_tolerance(const ModelSpec& m) const override {
    return stores_fp8(m) ? kFp8CpuVerifyTolerance : kFp32VerifyTolerance;
  }


  std::optional<std::string> cannot_run(const StepProgram& p) const override {
    int64_t bytes = 0;
    for (const RankProgram& r : p.ranks) bytes += footprint(r, sizeof(float)).total();
    const int64_t limit = int64_t(options_.memory_fraction * double(physical_memory_bytes()));
    if (bytes > limit)
      return "needs " + std::to_string(bytes >> 20) + " MiB of host memory in FP32 for " +
             std::to_string(p.ranks.size()) + " ranks, more than " + std::to_string(limit >> 20) +
             " MiB available (try --layers or a smaller model)";
    return std::nullopt;
  }

  void prepare(const StepProgram& p) override {
    release();
    program_ = &p;
    const int n = int(p.ranks.size());
    group_ = std::make_unique<InProcessGroup>(n, std::chrono::milliseconds(int64_t(options_.timeout_s * 1000)));
    ranks_.resize(n);
    for (int r = 0; r < n; ++r) {
      Rank& rk = ranks_[r];
      rk.program = &p.ranks[r];
      detail::init_buffers(p.model, p.ranks[r], p.config.seed, rk.mem);
      rk.comm = group_->communicator(r);
      rk.done = std::make_unique<std::atomic<uint64_t>[]>(p.ranks[r].ops.size());
      for (size_t i = 0; i < p.ranks[r].ops.size(); ++i) rk.done[i] = 0;
      rk.op_seconds.assign(p.ranks[r].ops.size(), 0.0);
    }
    streams_ = p.config.overlap == Overlap::None ? 1 : 2;
    // Leave the cores to the rank threads: OpenBLAS gets what one compute thread's share is.
    const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
    openblas_set_num_threads(std::max(1, hw / n));
    start_ = std::make_unique<std::barrier<>>(n * streams_ + 1);
    finish_ = std::make_unique<std::barrier<>>(n * streams_ + 1);
    stop_ = false;
    for (int r = 0; r < n; ++r)
      for (int s = 0; s < streams_; ++s) workers_.emplace_back([this, r, s] { worker(r, s); });
  }

  StepTime run(Variant v) override {
    if (!program_) throw std::logic_error("cpu backend: run() before prepare()");
    variant_ = v;
    ++generation_;
    failure_ = nullptr;
    failed_ = false;
    const Clock::time_point t0 = Clock::now();
    start_->arrive_and_wait();
    finish_->arrive_and_wait();
    if (failure_) std::rethrow_exception(failure_);
    // Section boundaries of the slowest rank (and stream), as offsets from the start.
    double prologue = 0, layers = 0, end = 0;
    auto since = [&](Clock::time_point t) { return std::chrono::duration<double>(t - t0).count(); };
    for (const Rank& rk : ranks_)
      for (int s = 0; s < streams_; ++s) {
        prologue = std::max(prologue, since(rk.prologue_end[s]));
        layers = std::max(layers, since(rk.layers_end[s]));
        end = std::max(end, since(rk.end[s]));
      }
    return StepTime{prologue, layers - prologue, end - layers};
  }

  std::vector<double> profile_ops() override {
    if (!program_) throw std::logic_error("cpu backend: profile_ops() before prepare()");
    profiling_ = true;
    const Variant saved = variant_;
    try {
      run(Variant::Full);
    } catch (...) {
      profiling_ = false;
      throw;
    }
    profiling_ = false;
    variant_ = saved;
    return ranks_[0].op_seconds;
  }

  std::vector<float> logits() const override {
    if (!program_) throw std::logic_error("cpu backend: logits() before prepare()");
    std::vector<std::vector<float>> outputs;
    for (const Rank& rk : ranks_) outputs.push_back(rk.mem[rk.program->output.buffer]);
    return assemble_logits(*program_, outputs);
  }

  void release() override {
    if (!workers_.empty()) {
      stop_ = true;
      start_->arrive_and_wait();
      for (auto& w : workers_) w.join();
      workers_.clear();
    }
    ranks_.clear();
    group_.reset();
    program_ = nullptr;
  }

  nlohmann::json system_info() const override {
    return {{"backend", "cpu"},
            {"cpu", cpu_model()},
            {"hardware_threads", std::thread::hardware_concurrency()},
            {"memory_bytes", physical_memory_bytes()},
            {"blas", std::string(openblas_get_config())},
            {"communicator", "inprocess"}};
  }

 private:
  // Worker for (rank, stream): waits for the start barrier, runs its stream's ops in program
  // order, honouring cross-stream dependencies, then meets the others at the finish barrier.
  void worker(int r, int stream) {
    while (true) {
      start_->arrive_and_wait();
      if (stop_) return;
      Rank& rk = ranks_[r];
      try {
        run_stream(rk, stream);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex_);
        if (!failure_) failure_ = std::current_exception();
        failed_ = true;
        group_->communicator(r)->abort();
        rk.prologue_end[stream] = rk.layers_end[stream] = rk.end[stream] = Clock::now();
      }
      finish_->arrive_and_wait();
    }
  }

  void run_stream(Rank& rk, int stream) {
    const RankProgram& p = *rk.program;
    const uint64_t gen = generation_;
    rk.prologue_end[stream] = rk.layers_end[stream] = Clock::now();
    for (size_t i = 0; i < p.ops.size(); ++i) {
      const Op& op = p.ops[i];
      if (streams_ > 1 && int(op.stream) != stream) continue;
      // A stop request ends the step between ops: every rank sees it, and the first to throw
      // aborts the communicators that may hold the others.
      throw_if_interrupted();
      for (int d : op.deps)
        while (rk.done[d].load(std::memory_order_acquire) != gen) {
          if (failed_) throw std::runtime_error("another rank failed");
          std::this_thread::yield();
        }
      if (profiling_) {
        const auto t = Clock::now();
        execute(rk, op);
        rk.op_seconds[i] = std::chrono::duration<double>(Clock::now() - t).count();
      } else {
        execute(rk, op);
      }
      rk.done[i].store(gen, std::memory_order_release);
      if (int(i) < p.layers_begin) rk.prologue_end[stream] = Clock::now();
      if (int(i) < p.head_begin) rk.layers_end[stream] = Clock::now();
    }
    rk.end[stream] = Clock::now();
  }

  void execute(Rank& rk, const Op& op) {
    const bool is_comm = op.kind == OpKind::Collective;
    if ((variant_ == Variant::ComputeOnly && is_comm) || (variant_ == Variant::CommOnly && !is_comm)) return;
    if (!is_comm) return detail::run_compute_op(op, rk.mem, rk.program->moe_tables);
    const float* in = rk.mem[op.a.buffer].data() + op.a.offset;
    float* out = rk.mem[op.out.buffer].data() + op.out.offset;
    const size_t in_count = size_t(op.a.rows * op.a.cols);
    rk.comm->run(op.collective, in, out, collective_traits(op.collective).count_argument(in_count, rk.comm->size()),
                 ElemType::F32);
  }

  BackendOptions options_;
  const StepProgram* program_ = nullptr;
  std::unique_ptr<InProcessGroup> group_;
  std::vector<Rank> ranks_;
  std::vector<std::thread> workers_;
  std::unique_ptr<std::barrier<>> start_, finish_;
  int streams_ = 1;
  std::atomic<bool> stop_{false}, failed_{false};
  bool profiling_ = false;  // set between runs only (workers read it after the start barrier)
  Variant variant_ = Variant::Full;
  uint64_t generation_ = 0;
  std::mutex failure_mutex_;
  std::exception_ptr failure_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions& o) { return std::make_unique<CpuBackend>(o); }

}  // namespace tpbench
