#pragma once
// One process per GPU (mpirun/srun with MPI): the NCCL unique id travels over MPI.
// Built only with TPBENCH_HAVE_MPI (CMake option TPBENCH_MPI, on when MPI is found).
#if defined(TPBENCH_HAVE_MPI)
// The C API only: the deprecated MPI C++ bindings cost compile time and warnings.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>
#include <nccl.h>

namespace tpbench {

// RAII owner of the MPI library state: MPI_Init_thread on construction unless MPI is already
// initialised (then it owns nothing), MPI_Finalize on destruction if it initialised MPI.
// MPI_THREAD_FUNNELED: only the thread that made it calls MPI; GPU threads never do.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  bool owns_ = false;
  int rank_ = 0, size_ = 1;
};

// Rank `root` of `comm` calls ncclGetUniqueId and broadcasts the id; every rank of `comm`
// must call this (it is an MPI collective) and gets the same id. MPI must be initialised
// (std::logic_error otherwise); MPI and NCCL failures throw std::runtime_error naming the call.
// For several TP groups in one job, split MPI_COMM_WORLD per group and call it on each part.
ncclUniqueId nccl_unique_id_over_mpi(int root, MPI_Comm comm = MPI_COMM_WORLD);

}  // namespace tpbench
#endif  // TPBENCH_HAVE_MPI
