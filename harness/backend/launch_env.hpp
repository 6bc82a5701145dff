#pragma once
// How tpbench was started, read from the launcher's environment variables (host-only).
//
//   plain   one process drives all GPUs of the TP group, one thread per GPU
//           (communicators from ncclCommInitAll);
//   mpirun  Open MPI, one process per GPU: OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK;
//   srun    Slurm, one process per GPU: SLURM_PROCID / SLURM_STEP_NUM_TASKS (or SLURM_NTASKS)
//           / SLURM_LOCALID, recognised only inside a job *step* (SLURM_STEP_ID or
//           SLURM_STEPID set): an sbatch script itself also has SLURM_PROCID=0 and
//           SLURM_NTASKS=N, and a plain run there must not wait for N-1 peers that never come;
//   pmi     MPICH / Intel MPI (Hydra): PMI_RANK / PMI_SIZE, local rank from MPI_LOCALRANKID
//           or PMI_LOCAL_RANK.
// Checked in that order: Open MPI started under Slurm inherits SLURM_* variables of the batch
// step, so the more specific launcher wins. The environment is read through a lookup function
// so that tests can fake any launcher.
//
// In the one-process-per-GPU modes this process uses GPU `local_rank`, or GPU 0 when the
// launcher gave each process a single GPU through CUDA_VISIBLE_DEVICES (srun --gpus-per-task=1
// and similar bindings): then every process sees exactly one device.
#include <functional>
#include <optional>
#include <string>

namespace tpbench {

enum class LaunchMode { Plain, Mpirun, Srun, Pmi };
const char* launch_mode_name(LaunchMode m);  // "plain", "mpirun", "srun", "pmi"

struct LaunchEnv {
  LaunchMode mode = LaunchMode::Plain;
  int world_rank = 0;  // plain: 0
  int world_size = 1;  // plain: 1 (the process, whatever number of GPUs it drives)
  int local_rank = 0;  // rank among the processes of this node; plain: 0
  int device = -1;     // the CUDA device of this process; plain: -1 (all visible GPUs)
  // A launcher that started one process (srun -n 1, mpirun -np 1, a Slurm step around a plain
  // run) is not a multi-process job: that process drives the GPUs it sees, as in plain mode.
  bool multi_process() const { return mode != LaunchMode::Plain && world_size > 1; }
};

// Value of an environment variable, nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The real environment (std::getenv).
EnvLookup process_env();

// Detects the launcher and validates its values. `visible_gpus` is the number of CUDA devices
// this process sees. Throws UsageError (one line, naming the variable and its value) for
// malformed or inconsistent values: a non-integer, a negative rank, rank >= size, a local rank
// with no GPU; UnavailableError when visible_gpus < 1.
LaunchEnv detect_launch(const EnvLookup& env, int visible_gpus);

// Where this process sits for a TP group of `tp` ranks. Multi-process: consecutive world
// ranks form a group (ranks [g*tp, (g+1)*tp) are group g); `tp` must divide the world size.
// Plain: one group, its ranks are threads (rank_in_group = -1). Throws UsageError (one line).
struct TpPlacement {
  int groups = 1;          // TP groups in the job (replicas)
  int group = 0;           // this process's group
  int rank_in_group = -1;  // this process's rank in the group; -1 in plain mode (threads)
};
TpPlacement place_tp_group(const LaunchEnv& env, int tp);

}  // namespace tpbench
