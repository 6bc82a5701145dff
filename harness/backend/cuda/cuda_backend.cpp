// The cuda backend: one host thread per rank (one GPU each), NCCL communicators created once per
// device set and reused across points, each rank's step captured as CUDA graphs and replayed
// for timing with events. Modes: NCCL (real TP on N GPUs), emulated (--emulate-tp N: rank 0 of
// TP=N on one GPU, collective time from a system profile), device-local (all ranks on one GPU,
// for --verify under emulation; its timings mean nothing).
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include "collectives/cuda/device_local_group.hpp"
#include "collectives/cuda/nccl_communicator.hpp"
#include "collectives/watchdog.hpp"
#include "harness/backend/attention_choice.hpp"
#include "harness/backend/cuda/cuda_rank.hpp"
#include "harness/backend/cuda/device_info.hpp"
#include "harness/backend/cuda/emulated_collective.cuh"
#include "harness/backend/cuda/nvml_probe.hpp"
#include "harness/backend/cuda/op_launch.hpp"
#include "harness/backend/cuda/process_group.hpp"
#include "harness/backend/cuda_backend_factory.hpp"
#include "harness/backend/device_memory_plan.hpp"
#include "harness/backend/fp8_gemm_plan.hpp"
#include "harness/backend/logits_assembly.hpp"
#include "harness/backend/moe_device_tables.hpp"
#include "harness/backend/rank_threads.hpp"
#include "harness/backend/verify_tolerance.hpp"
#include "harness/common/error.hpp"
#include "harness/perf/system_profile.hpp"
#include "kernels/cudnn_attention.hpp"
#include "kernels/reference_ops.hpp"

namespace tpbench {
namespace {

enum class Mode { Nccl, Emulated, DeviceLocal };

// The workspaces a rank will ask for beside its buffers, from the kernels' host-side shape logic
// and the device's attributes (no allocation, usable before prepare()): the attention
// workspaces, the skinny GEMM's split-K workspace and the L2-flush buffer (2 x the L2).
int64_t workspace_estimate(const RankProgram& r, int device) {
  int sms = 0, l2 = 0;
  if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) sms = 132;
  if (cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device) != cudaSuccess) l2 = 60 << 20;
  int64_t attention = 0;
  for (const Op& op : r.ops)
    if (op.kind == OpKind::Attention)
      attention = std::max<int64_t>(attention, int64_t(kernels::attention_workspace_bytes(cuda::attention_dims(op.attn), sms)));
  // cuDNN's SDPA sizes its workspace only once its plan is built (prepare): an allowance here.
  constexpr int64_t kLibraryAttentionAllowance = int64_t(64) << 20;
  return attention + kLibraryAttentionAllowance + int64_t(cuda::skinny_workspace_bytes(r, sms)) + 2 * int64_t(l2);
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(const BackendOptions& o, Mode mode) : options_(o), mode_(mode) {
    visible_ = cuda::visible_devices();  // throws UnavailableError without a usable device
    const LaunchEnv env = detect_launch(process_env(), int(visible_.size()));
    if (env.multi_process() && mode_ != Mode::Nccl)
      throw UsageError("--emulate-tp and --oversubscribe run in one process; launch without mpirun/srun");
    processes_ = std::make_unique<cuda::ProcessGroup>(env);
    if (mode_ == Mode::Emulated) profile_ = resolve_profile(o.profile.empty() ? "h100-sxm" : o.profile);
  }
  ~CudaBackend() override { release(); }

  std::string name() const override { return "cuda"; }
  BackendKind kind() const override { return BackendKind::Cuda; }
  // BF16 activations, with FP8 storage on top where the model has it.
  double verify_tolerance(const ModelSpec& m) const override {
    return stores_fp8(m) ? kFp8GpuVerifyTolerance : kBf16VerifyTolerance;
  }
  bool emulated() const override { return mode_ == Mode::Emulated; }

  bool oversubscribed(const StepConfig& c) const override {
    return mode_ == Mode::Nccl && !processes_->multi_process() && int(devices_for(c.tp).size()) < c.tp;
  }

  bool reports() const override { return processes_->env().world_rank == 0; }
  int processes() const override { return processes_->multi_process() ? processes_->env().world_size : 1; }

  void validate(const ModelSpec& m, const StepConfig& c) const override {
    // Buffers, kernels and cuBLASLt descriptors are BF16: another type would be measured as BF16
    // and reported as what it is not.
    if (m.dtype != DType::BF16)
      throw UsageError("model " + m.name + " is " + dtype_name(m.dtype) +
                       ": the cuda backend runs BF16 models only (set torch_dtype to bfloat16)");
    // FP8 weights run as cuBLASLt FP8 GEMMs (fp8_gemm_plan.hpp), an FP8 KV cache on the project's
    // attention kernel (prefill over it is refused per point by cannot_run).
    // The attention kernels put a chunk's tokens on a grid dimension (at most 65535).
    if (c.new_tokens() > 65535)
      throw UsageError("prefill chunk of " + std::to_string(c.new_tokens()) +
                       " tokens: the cuda backend takes at most 65535 per step (use --chunk)");
    if (mode_ != Mode::Nccl) return;
    if (processes_->multi_process()) {
      if (c.tp != processes_->env().world_size)
        throw UsageError("launched as " + std::to_string(processes_->env().world_size) +
                         " processes: every point's TP must equal that (got TP=" + std::to_string(c.tp) + ")");
      return;
    }
    const std::vector<int> dev = devices_for(c.tp);
    if (int(dev.size()) < c.tp && !options_.oversubscribe)
      throw UsageError("TP=" + std::to_string(c.tp) + " needs " + std::to_string(c.tp) + " GPUs but " +
                       std::to_string(dev.size()) +
                       " are usable (use --emulate-tp on one GPU, or --oversubscribe with NCCL >= 2.30)");
    if (int(dev.size()) < c.tp && nccl_version() < kNcclMultiRankGpuVersion)
      throw UsageError("--oversubscribe needs NCCL >= 2.30 (this is " + nccl_version_string(nccl_version()) + ")");
  }

  std::optional<std::string> cannot_run(const StepProgram& p) const override {
    const std::vector<int> ranks = executed_ranks(p);
    for (int r : ranks)
      if (stuck_devices_.count(device_of(p, r)))
        return "GPU " + std::to_string(device_of(p, r)) +
               " still runs work of an earlier point that failed (its communicator's abort did not stop it); "
               "run the remaining points in a new process";
    for (int r : ranks)
      if (auto why = attention_not_runnable(p.ranks[r], library_.usable, library_.description)) return why;
    for (int r : ranks)
      if (auto why = grouped_gemm_refusal(p.ranks[r])) return why;
    std::map<int, int64_t> need;  // device -> bytes
    for (int r : ranks) {
      const Fp8GemmPlan fp8 = plan_fp8_gemms(p.model, p.ranks[r]);
      if (fp8.refusal) return *fp8.refusal;
      if (fp8.gemms > 0)
        if (auto why = cuda::fp8_gemm_unsupported(device_of(p, r))) return why;
      need[device_of(p, r)] += plan_device_memory(p.ranks[r], workspace_estimate(p.ranks[r], device_of(p, r)),
                                                  fp8.device_bytes() + (fp8.gemms > 0 ? kGemmWorkspaceBytes : 0))
                                   .total();
    }
    for (auto [dev, bytes] : need) {
      const int64_t free_bytes = cuda::free_memory(dev);
      DeviceMemoryPlan total;
      total.buffers = bytes;
      if (auto why = device_fit(total, free_bytes, dev)) return why;
    }
    return std::nullopt;
  }

  void prepare(const StepProgram& p) override {
    release();
    program_ = &p;
    const std::vector<int> ranks = executed_ranks(p);
    std::vector<cuda::CollectiveExec> exec(ranks.size());
    if (mode_ == Mode::Emulated) {
      if (spin_overshoot_s_ < 0) {  // once per backend, on the device rank 0 runs on
        cuda::DeviceScope scope(device_of(p, ranks.front()));
        spin_overshoot_s_ = cuda::emulated_collective_overshoot_s();
      }
      for (auto& e : exec)
        e.emulated_time = [this](const Op& op) {
          return cuda::emulated_spin_s(profile_.collectives.time_s(op.collective, op.group_size, op.message_bytes),
                                       spin_overshoot_s_);
        };
    } else if (p.config.tp > 1 || mode_ == Mode::DeviceLocal) {
      communicators(p, ranks.size());
      for (size_t i = 0; i < ranks.size(); ++i) {
        exec[i].comm = comms_[i];
        exec[i].barrier_before_step = mode_ == Mode::Nccl;
      }
    }
    {
      std::lock_guard<std::timed_mutex> lock(ranks_mu_);
      for (size_t i = 0; i < ranks.size(); ++i)
        ranks_.push_back(std::make_unique<cuda::CudaRank>(p, ranks[i], device_of(p, ranks[i]), exec[i]));
    }
    // One tuning lock per GPU: ranks on different GPUs time their kernel choices side by side,
    // ranks sharing one (oversubscribed, device-local) one after another.
    std::map<int, std::mutex> tune_locks;
    for (const auto& r : ranks_) tune_locks[r->device()];
    on_all_ranks([&](cuda::CudaRank& r) { r.prepare(tune_locks.at(r.device())); });
  }

  StepTime run(Variant v) override {
    std::vector<StepTime> t(ranks_.size());
    const bool graphs = mode_ != Mode::DeviceLocal;  // its host rendezvous cannot be captured
    guarded("step", [&] { on_all_ranks([&](cuda::CudaRank& r, size_t i) { t[i] = r.run(v, graphs); }); });
    // The slowest rank per section, in this process and then over processes.
    StepTime out = slowest_sections(t);
    double worst[3] = {out.prologue_s, out.layers_s, out.head_s};
    processes_->max_in_place(worst, 3);
    out.prologue_s = worst[0];
    out.layers_s = worst[1];
    out.head_s = worst[2];
    return out;
  }

  std::vector<double> profile_ops() override {
    std::vector<std::vector<double>> per(ranks_.size());
    guarded("profiled step", [&] { on_all_ranks([&](cuda::CudaRank& r, size_t i) { per[i] = r.profile_ops(); }); });
    return per.empty() ? std::vector<double>{} : per[0];
  }

  std::vector<float> logits() const override {
    std::vector<std::vector<float>> outputs;
    for (const auto& r : ranks_) outputs.push_back(r->output());
    if (processes_->multi_process()) outputs = processes_->all_gather(outputs.at(0));
    return assemble_logits(*program_, outputs, mode_ == Mode::Emulated);
  }

  void release() override {
    std::lock_guard<std::timed_mutex> lock(ranks_mu_);
    // Graphs first (an NCCL abort or destroy waits for them), then each rank's memory once its
    // streams are idle, within a bound: a GPU whose work never ends (an abort that failed)
    // keeps its memory, and no later point runs on it.
    for (auto& r : ranks_)
      if (!r->release_device(cuda::CudaRank::kTeardownDrain)) stuck_devices_.insert(r->device());
    ranks_.clear();
    program_ = nullptr;
  }

  nlohmann::json kernel_choices() const override {
    return ranks_.empty() ? nlohmann::json(nullptr) : ranks_.front()->kernel_choices();
  }

  nlohmann::json telemetry() const override {
    if (!nvml_.available()) return nullptr;
    nlohmann::json out = nlohmann::json::array();
    for (int d : visible_) {
      char bus[32] = {};
      if (cudaDeviceGetPCIBusId(bus, sizeof bus, d) != cudaSuccess) continue;
      if (auto s = nvml_.sample(bus))
        out.push_back({{"gpu", d}, {"sm_mhz", s->sm_clock_mhz}, {"mem_mhz", s->mem_clock_mhz},
                       {"temperature_c", s->temperature_c}, {"throttled", cuda::throttled(s->throttle_reasons)},
                       {"power_capped", cuda::power_capped(s->throttle_reasons)}});
    }
    return out;
  }

  nlohmann::json system_info() const override {
    nlohmann::json j = cuda::system_info(visible_);
    j["backend"] = "cuda";
    j["mode"] = mode_ == Mode::Nccl ? "nccl" : mode_ == Mode::Emulated ? "emulated" : "device-local";
    if (mode_ == Mode::Emulated) j["emulation_profile"] = profile_.name;
    return j;
  }

 private:
  std::vector<int> devices_for(int tp) const {
    std::vector<int> d = options_.gpus.empty() ? visible_ : options_.gpus;
    if (int(d.size()) > tp) d.resize(tp);
    return d;
  }
  std::vector<int> executed_ranks(const StepProgram& p) const {
    if (mode_ == Mode::Emulated) return {0};
    if (processes_->multi_process()) return {processes_->env().world_rank};
    std::vector<int> r(p.ranks.size());
    for (size_t i = 0; i < r.size(); ++i) r[i] = int(i);
    return r;
  }
  int device_of(const StepProgram& p, int rank) const {
    if (processes_->multi_process()) return processes_->env().device;
    const std::vector<int> d = devices_for(p.config.tp);
    if (mode_ != Mode::Nccl) return d.at(0);
    return d.at(size_t(rank) % d.size());  // oversubscribed ranks share GPUs round-robin
  }

  // Communicators for `n` ranks, created once per device list (NCCL setup costs seconds).
  void communicators(const StepProgram& p, size_t n) {
    std::vector<int> devs;
    for (size_t r = 0; r < n; ++r) devs.push_back(device_of(p, int(r)));
    if (devs == comm_devices_ && comms_.size() == n && !comms_broken_) return;
    comms_broken_ = false;
    watchdog_.reset();
    comms_.clear();
    owned_comms_.clear();
    nccl_comms_.clear();
    if (mode_ == Mode::DeviceLocal) {
      cuda::DeviceScope scope(devs[0]);
      owned_comms_ = make_device_local_group(int(n), options_.timeout_s);
      for (auto& c : owned_comms_) comms_.push_back(c.get());
    } else {
      if (processes_->multi_process())
        nccl_comms_.push_back(make_nccl_rank(processes_->env().world_rank, processes_->env().world_size, devs[0],
                                             processes_->unique_id()));
      else
        nccl_comms_ = make_nccl_group(devs);
      std::vector<Communicator*> watched;
      for (auto& c : nccl_comms_) {
        comms_.push_back(c.get());
        watched.push_back(c.get());
      }
      // On a timeout the ranks' graphs go before the abort (which waits for them).
      watchdog_ = std::make_unique<CollectiveWatchdog>(watched, std::chrono::milliseconds(50),
                                                       [this, watched](const std::string& message) {
                                                         // A hung driver must not keep the watchdog from exiting.
                                                         run_within([this] { drop_all_graphs(std::chrono::seconds(2)); },
                                                                    std::chrono::seconds(5));
                                                         abort_and_exit(watched, message);
                                                       });
    }
    comm_devices_ = devs;
  }

  template <typename F>
  void guarded(const char* what, F&& f) {
    if (!watchdog_) return f();
    CollectiveWatchdog::Step step(*watchdog_, std::chrono::milliseconds(int64_t(options_.timeout_s * 1000)), what);
    f();
  }

  // Outside any lock and all NCCL ranks at once: an intra-node ncclCommAbort may wait for its
  // peers to abort too, so aborting them one after another could block until the watchdog fires.
  void abort_communicators() {
    std::vector<Communicator*> nccl;
    for (auto& c : nccl_comms_) nccl.push_back(c.get());
    if (!nccl.empty()) abort_all(nccl, kAbortGrace);
    for (auto& c : owned_comms_) c->abort();  // device-local: sets a flag, releases waiters
  }

  // Destroys every rank's captured graphs. From the watchdog's thread the rank list may be
  // changing (a step that finished as the watchdog fired): wait for it at most `patience`.
  void drop_all_graphs(std::chrono::milliseconds patience) {
    std::unique_lock<std::timed_mutex> lock(ranks_mu_, std::defer_lock);
    if (!lock.try_lock_for(patience)) return;
    for (auto& r : ranks_) r->drop_graphs();
  }

  // Runs fn on every rank, each on its own thread (NCCL needs all ranks to enqueue
  // concurrently), and rethrows the first failure after graphs were dropped and communicators
  // aborted in that order (harness/backend/rank_threads.hpp).
  template <typename F>
  void on_all_ranks(F&& fn) {
    RankFailureHooks hooks;
    hooks.note = [this](size_t i, const std::string& message) {
      comms_broken_ = true;  // recreate them for the next point
      if (watchdog_) watchdog_->note_rank_failure(i < ranks_.size() ? ranks_[i]->rank() : int(i), message);
    };
    hooks.release_graphs = [this] { for (auto& r : ranks_) r->drop_graphs(); };
    hooks.abort = [this] { abort_communicators(); };
    run_rank_threads(ranks_.size(), [&](size_t i) {
      if constexpr (std::is_invocable_v<F, cuda::CudaRank&, size_t>) fn(*ranks_[i], i);
      else fn(*ranks_[i]);
    }, hooks);
  }

  BackendOptions options_;
  Mode mode_;
  std::unique_ptr<cuda::ProcessGroup> processes_;
  cuda::NvmlProbe nvml_;
  std::vector<int> visible_;
  SystemProfile profile_;
  double spin_overshoot_s_ = -1;  // emulated mode: measured extra time of one emulated collective
  kernels::LibraryStatus library_ = kernels::cudnn_attention_status();  // prefill attention's library
  const StepProgram* program_ = nullptr;
  std::timed_mutex ranks_mu_;  // guards changes to ranks_ against the watchdog's drop_all_graphs
  std::vector<std::unique_ptr<cuda::CudaRank>> ranks_;
  std::vector<std::unique_ptr<NcclCommunicator>> nccl_comms_;
  std::vector<std::unique_ptr<Communicator>> owned_comms_;
  std::vector<Communicator*> comms_;
  std::vector<int> comm_devices_;
  std::unique_ptr<CollectiveWatchdog> watchdog_;
  std::atomic<bool> comms_broken_{false};
  std::set<int> stuck_devices_;  // GPUs whose work did not drain at a release (memory given up)
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(const BackendOptions& o) {
  return std::make_unique<CudaBackend>(o, o.emulate_tp > 0 ? Mode::Emulated : Mode::Nccl);
}

std::unique_ptr<Backend> make_cuda_verification_backend(const BackendOptions& o) {
  return std::make_unique<CudaBackend>(o, o.emulate_tp > 0 || o.oversubscribe ? Mode::DeviceLocal : Mode::Nccl);
}

}  // namespace tpbench
