#include "harness/backend/launch_env.hpp"

#include <charconv>
#include <cstdlib>

#include "harness/common/error.hpp"

namespace tpbench {

namespace {

// The variables of one launcher: which one, and the names that carry rank, size, local rank.
struct Vars {
  LaunchMode mode;
  std::string rank, size, local;  // names actually used (size/local may be alternatives)
};

std::optional<int> read_int(const EnvLookup& env, const std::string& name, const char* launcher) {
  const std::optional<std::string> v = env(name);
  if (!v) return std::nullopt;
  int out = 0;
  const char* first = v->data();
  const char* last = first + v->size();
  const auto [end, ec] = std::from_chars(first, last, out);
  // from_chars accepts a leading '-': a negative rank is as malformed as "abc" or "3x".
  if (v->empty() || ec != std::errc() || end != last || out < 0)
    throw UsageError(std::string(launcher) + " launch: " + name + "='" + *v + "' is not a non-negative integer");
  return out;
}

int require_int(const EnvLookup& env, const std::string& name, const char* launcher, const std::string& because) {
  if (std::optional<int> v = read_int(env, name, launcher)) return *v;
  throw UsageError(std::string(launcher) + " launch: " + because + " but " + name + " is not set");
}

bool is_set(const EnvLookup& env, const char* name) { return env(name).has_value(); }

// The first of `names` that is set, or the first name (for the error message) when none is.
std::string first_set(const EnvLookup& env, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (is_set(env, n)) return n;
  return *names.begin();
}

// CUDA_VISIBLE_DEVICES names exactly one device: the launcher bound one GPU to this process.
bool bound_to_one_gpu(const EnvLookup& env) {
  const std::optional<std::string> v = env("CUDA_VISIBLE_DEVICES");
  return v && !v->empty() && v->find(',') == std::string::npos;
}

LaunchEnv read_launcher(const EnvLookup& env, LaunchMode mode, int visible_gpus) {
  const char* who = launch_mode_name(mode);
  LaunchEnv e;
  e.mode = mode;
  std::string rank_var, size_var;
  switch (mode) {
    case LaunchMode::Mpirun:
      rank_var = "OMPI_COMM_WORLD_RANK";
      size_var = "OMPI_COMM_WORLD_SIZE";
      e.world_rank = require_int(env, rank_var, who, "Open MPI variables are set");
      e.world_size = require_int(env, size_var, who, "Open MPI variables are set");
      e.local_rank = require_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", who, "Open MPI variables are set");
      break;
    case LaunchMode::Srun:
      rank_var = "SLURM_PROCID";
      // A step's own task count first: SLURM_NTASKS is the job's, larger when the step is smaller.
      size_var = first_set(env, {"SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS"});
      e.world_rank = require_int(env, rank_var, who, "this is a Slurm job step");
      e.world_size = require_int(env, size_var, who, "this is a Slurm job step");
      e.local_rank = require_int(env, "SLURM_LOCALID", who, "this is a Slurm job step");
      break;
    case LaunchMode::Pmi: {
      rank_var = "PMI_RANK";
      size_var = "PMI_SIZE";
      e.world_rank = require_int(env, rank_var, who, "PMI variables are set");
      e.world_size = require_int(env, size_var, who, "PMI variables are set");
      const std::string local_var = first_set(env, {"MPI_LOCALRANKID", "PMI_LOCAL_RANK"});
      if (std::optional<int> local = read_int(env, local_var, who)) {
        e.local_rank = *local;
      } else if (e.world_size <= visible_gpus) {
        // No local rank published: all ranks fit on this node's GPUs, so assume one node.
        e.local_rank = e.world_rank;
      } else {
        throw UsageError(std::string("pmi launch: neither MPI_LOCALRANKID nor PMI_LOCAL_RANK is set, and ") +
                         std::to_string(e.world_size) + " ranks do not fit on one node's " +
                         std::to_string(visible_gpus) + " GPUs: cannot tell which GPU this process owns");
      }
      break;
    }
    case LaunchMode::Plain:
      return e;
  }
  if (e.world_size < 1) throw UsageError(std::string(who) + " launch: " + size_var + "=0 (no processes)");
  if (e.world_rank >= e.world_size)
    throw UsageError(std::string(who) + " launch: " + rank_var + "=" + std::to_string(e.world_rank) +
                     " is not below " + size_var + "=" + std::to_string(e.world_size));
  if (e.local_rank >= e.world_size)
    throw UsageError(std::string(who) + " launch: local rank " + std::to_string(e.local_rank) +
                     " is not below the world size " + std::to_string(e.world_size));
  if (e.local_rank < visible_gpus) {
    e.device = e.local_rank;
  } else if (visible_gpus == 1 && bound_to_one_gpu(env)) {
    e.device = 0;  // the launcher bound one GPU per process (see the header)
  } else {
    throw UsageError(std::string(who) + " launch: rank " + std::to_string(e.world_rank) + " has local rank " +
                     std::to_string(e.local_rank) + " but this node shows " + std::to_string(visible_gpus) +
                     (visible_gpus == 1 ? " GPU" : " GPUs") + " (start at most one process per GPU on each node)");
  }
  return e;
}

}  // namespace

const char* launch_mode_name(LaunchMode m) {
  switch (m) {
    case LaunchMode::Plain: return "plain";
    case LaunchMode::Mpirun: return "mpirun";
    case LaunchMode::Srun: return "srun";
    case LaunchMode::Pmi: return "pmi";
  }
  return "?";
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

LaunchEnv detect_launch(const EnvLookup& env, int visible_gpus) {
  if (visible_gpus < 1) throw UnavailableError("--backend cuda: no usable CUDA device (0 devices)");
  LaunchMode mode = LaunchMode::Plain;
  if (is_set(env, "OMPI_COMM_WORLD_RANK") || is_set(env, "OMPI_COMM_WORLD_SIZE"))
    mode = LaunchMode::Mpirun;
  else if (is_set(env, "SLURM_PROCID") && (is_set(env, "SLURM_STEP_ID") || is_set(env, "SLURM_STEPID")))
    mode = LaunchMode::Srun;
  else if (is_set(env, "PMI_RANK") || is_set(env, "PMI_SIZE"))
    mode = LaunchMode::Pmi;
  return read_launcher(env, mode, visible_gpus);
}

TpPlacement place_tp_group(const LaunchEnv& env, int tp) {
  if (tp < 1) throw UsageError("--tp must be >= 1, got " + std::to_string(tp));
  TpPlacement p;
  if (!env.multi_process()) return p;
  const std::string who = launch_mode_name(env.mode);
  if (tp > env.world_size)
    throw UsageError("--tp " + std::to_string(tp) + " needs " + std::to_string(tp) + " processes (one per GPU) but " +
                     who + " started " + std::to_string(env.world_size));
  if (env.world_size % tp != 0)
    throw UsageError("--tp " + std::to_string(tp) + " does not divide the " + std::to_string(env.world_size) +
                     " processes started by " + who);
  p.groups = env.world_size / tp;
  p.group = env.world_rank / tp;
  p.rank_in_group = env.world_rank % tp;
  return p;
}

}  // namespace tpbench
