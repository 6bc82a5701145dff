#pragma once
// One process per GPU (mpirun / srun): what the processes of a TP group share outside NCCL —
// the NCCL unique id, the slowest rank's step time, and the ranks' outputs for --verify.
// In a plain launch (one process drives every GPU) every call is the identity.
#include <memory>
#include <vector>

#include <nccl.h>

#include "harness/backend/launch_env.hpp"

namespace tpbench::cuda {

class ProcessGroup {
 public:
  explicit ProcessGroup(const LaunchEnv& env);  // initialises MPI when multi-process
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  bool multi_process() const { return env_.multi_process(); }
  const LaunchEnv& env() const { return env_; }
  ncclUniqueId unique_id() const;                 // rank 0's id on every process
  void max_in_place(double* values, int n) const; // element-wise maximum over processes
  // Every process's vector, in rank order (sizes may differ).
  std::vector<std::vector<float>> all_gather(const std::vector<float>& mine) const;

 private:
  LaunchEnv env_;
  struct Mpi;
  std::unique_ptr<Mpi> mpi_;
};

}  // namespace tpbench::cuda
