#pragma once
#include <algorithm>
// Backend: executes a StepProgram for all of its ranks. The sweep owns the measurement
// strategy (warm-up, sampling, statistics); a backend only runs steps and times them.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/plan/step_program.hpp"

namespace tpbench {

// What to execute of the program: everything, or only its compute or only its collectives.
// Exposed communication = time(Full) - time(ComputeOnly) (measured, not guessed: docs/architecture.md, Measurement rules).
enum class Variant { Full, ComputeOnly, CommOnly };

// One timed step: the slowest rank's wall time in each section of the program (prologue,
// layers, LM head; see RankProgram::layers_begin).
struct StepTime {
  double prologue_s = 0;
  double layers_s = 0;
  double head_s = 0;
  double total() const { return prologue_s + layers_s + head_s; }
  // The step of a model with `scale` times the layers that ran (--layers).
  double scaled(double scale) const { return prologue_s + layers_s * scale + head_s; }
};

// Section by section, the slowest of several ranks' times: a TP step ends when its last rank does.
inline StepTime slowest_sections(const std::vector<StepTime>& ranks) {
  StepTime w;
  for (const StepTime& s : ranks) {
    w.prologue_s = std::max(w.prologue_s, s.prologue_s);
    w.layers_s = std::max(w.layers_s, s.layers_s);
    w.head_s = std::max(w.head_s, s.head_s);
  }
  return w;
}

enum class BackendKind { Auto, Cpu, Cuda };
inline constexpr std::array kAllBackendKinds = {BackendKind::Auto, BackendKind::Cpu, BackendKind::Cuda};
const char* backend_kind_name(BackendKind k);  // "auto", "cpu", "cuda"
BackendKind parse_backend_kind(const std::string& s);  // throws UsageError naming an unknown backend

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual BackendKind kind() const = 0;  // Cpu or Cuda (never Auto)
  // The relative L2 error of sharded against unsharded logits that --verify accepts for this
  // model on this backend (its arithmetic: harness/backend/verify_tolerance.hpp).
  virtual double verify_tolerance(const ModelSpec& m) const = 0;

  // Throws UsageError when the backend can never run this model and configuration (more ranks
  // than GPUs without --oversubscribe, a data type it has no kernels for, ...): checked for every
  // point before a sweep starts.
  virtual void validate(const ModelSpec&, const StepConfig&) const {}

  // Why the program cannot run here (not enough memory, too many ranks...), or nothing.
  virtual std::optional<std::string> cannot_run(const StepProgram& p) const = 0;

  // Allocates and initialises every buffer of every rank (deterministic values).
  virtual void prepare(const StepProgram& p) = 0;
  // Runs one step of the prepared program and times it.
  virtual StepTime run(Variant v) = 0;
  // Runs one full step and returns rank 0's time per op (seconds, program order): the
  // breakdown by op kind. Serialises the streams, so it is not a step-time sample.
  virtual std::vector<double> profile_ops() = 0;
  // Logits of every sequence, [batch x vocab] row-major, assembled from the ranks' outputs
  // after the last run (FP32). Throws std::logic_error when ranks disagree on a row.
  virtual std::vector<float> logits() const = 0;
  // Releases the prepared buffers.
  virtual void release() = 0;

  // Host and device description for the JSON document ("system").
  virtual nlohmann::json system_info() const = 0;
  // False on every process but rank 0 of a multi-process launch: those measure, rank 0 reports.
  virtual bool reports() const { return true; }
  // Processes of the launch (mpirun/srun: one per GPU); 1 when this process drives every rank.
  virtual int processes() const { return 1; }
  // Clocks, temperature and throttle state of the devices in use, or null where unknown (the
  // cpu backend; GPUs without NVML). Sampled before and after every point.
  virtual nlohmann::json telemetry() const { return nullptr; }
  // Whether this configuration puts more ranks than GPUs (functional checks only).
  virtual bool oversubscribed(const StepConfig&) const { return false; }
  // Whether points measured here are emulated (collective times taken from a profile).
  virtual bool emulated() const { return false; }
  // Which kernels the prepared program runs where the backend chose between several (the
  // attention kernel per shape, skinny GEMM against cuBLASLt), as JSON; null when it made no
  // such choice. Valid between prepare() and release().
  virtual nlohmann::json kernel_choices() const { return nullptr; }
};

// Which backend --backend asks for: auto (cuda when usable, else cpu), cpu or cuda.

struct BackendOptions {
  BackendKind kind = BackendKind::Auto;
  std::vector<int> gpus;          // cuda: devices to use (default 0..tp-1)
  bool oversubscribe = false;     // cuda: allow more ranks than GPUs (NCCL >= 2.30)
  int emulate_tp = 0;             // cuda: run rank 0 of TP=N on one GPU
  std::string profile;            // cuda --emulate-tp: system profile name or file
  double timeout_s = 300;         // collective watchdog
  double memory_fraction = 0.9;   // of physical memory a point may use
};

// Throws UsageError for an unknown kind, UnavailableError when the kind cannot run here (the
// cuda backend without a usable device).
std::unique_ptr<Backend> make_backend(const BackendOptions& o);

// A backend that runs every rank of a program for real, for --verify: the same kind, except
// that with --emulate-tp or --oversubscribe the cuda one puts all ranks on one GPU and connects
// them through device memory instead of NCCL.
std::unique_ptr<Backend> make_verification_backend(const BackendOptions& o);

}  // namespace tpbench
