#include "harness/backend/cuda/process_group.hpp"

#include "collectives/cuda/nccl_check.hpp"
#include "harness/common/error.hpp"
#ifdef TPBENCH_HAVE_MPI
#include "collectives/cuda/mpi_bootstrap.hpp"
#endif

namespace tpbench::cuda {

struct ProcessGroup::Mpi {
#ifdef TPBENCH_HAVE_MPI
  MpiSession session{nullptr, nullptr};
#endif
};

ProcessGroup::ProcessGroup(const LaunchEnv& env) : env_(env) {
  if (!env_.multi_process()) return;
#ifdef TPBENCH_HAVE_MPI
  mpi_ = std::make_unique<Mpi>();
#else
  throw UsageError("launched as one process per GPU, but this tpbench was built without MPI (-DTPBENCH_MPI=ON)");
#endif
}

ProcessGroup::~ProcessGroup() = default;

ncclUniqueId ProcessGroup::unique_id() const {
#ifdef TPBENCH_HAVE_MPI
  if (mpi_) return nccl_unique_id_over_mpi(0);
#endif
  ncclUniqueId id;
  TPBENCH_NCCL_CHECK(ncclGetUniqueId(&id));
  return id;
}

void ProcessGroup::max_in_place(double* values, int n) const {
#ifdef TPBENCH_HAVE_MPI
  if (mpi_) MPI_Allreduce(MPI_IN_PLACE, values, n, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
#else
  (void)values;
  (void)n;
#endif
}

std::vector<std::vector<float>> ProcessGroup::all_gather(const std::vector<float>& mine) const {
#ifdef TPBENCH_HAVE_MPI
  if (mpi_) {
    const int size = env_.world_size;
    int count = int(mine.size());
    std::vector<int> counts(size), displs(size);
    MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (int r = 0; r < size; ++r) {
      displs[r] = total;
      total += counts[r];
    }
    std::vector<float> flat(static_cast<size_t>(total));
    MPI_Allgatherv(mine.data(), count, MPI_FLOAT, flat.data(), counts.data(), displs.data(), MPI_FLOAT,
                   MPI_COMM_WORLD);
    std::vector<std::vector<float>> out(size);
    for (int r = 0; r < size; ++r) out[r].assign(flat.begin() + displs[r], flat.begin() + displs[r] + counts[r]);
    return out;
  }
#endif
  return {mine};
}

}  // namespace tpbench::cuda
