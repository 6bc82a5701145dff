#include "collectives/cuda/mpi_bootstrap.hpp"

#if defined(TPBENCH_HAVE_MPI)
#include <cstdio>
#include <stdexcept>
#include <string>

#include "collectives/cuda/nccl_check.hpp"

namespace tpbench {

namespace {

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
  throw std::runtime_error(std::string(what) + " failed: " + (len > 0 ? std::string(text, len) : "unknown MPI error"));
}

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialised = 0;
  mpi_check(MPI_Initialized(&initialised), "MPI_Initialized");
  if (!initialised) {
    int provided = 0;
    mpi_check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    owns_ = true;
  }
  mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

MpiSession::~MpiSession() {
  if (!owns_) return;
  int finalised = 0;
  if (MPI_Finalized(&finalised) == MPI_SUCCESS && !finalised && MPI_Finalize() != MPI_SUCCESS)
    std::fprintf(stderr, "tpbench: warning: MPI_Finalize failed\n");
}

ncclUniqueId nccl_unique_id_over_mpi(int root, MPI_Comm comm) {
  int initialised = 0;
  mpi_check(MPI_Initialized(&initialised), "MPI_Initialized");
  if (!initialised) throw std::logic_error("nccl_unique_id_over_mpi: MPI is not initialised (make an MpiSession first)");
  int rank = 0, size = 0;
  mpi_check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  if (root < 0 || root >= size)
    throw std::invalid_argument("nccl_unique_id_over_mpi: root " + std::to_string(root) + " not in 0.." +
                                std::to_string(size - 1));
  // The root broadcasts whether it got an id before the id itself: if ncclGetUniqueId fails
  // there, every rank fails with a message instead of the others waiting in MPI_Bcast forever.
  ncclUniqueId id{};
  std::string root_error;
  if (rank == root) {
    try {
      TPBENCH_NCCL_CHECK(ncclGetUniqueId(&id));
    } catch (const std::exception& e) {
      root_error = e.what();
    }
  }
  int ok = root_error.empty() ? 1 : 0;
  mpi_check(MPI_Bcast(&ok, 1, MPI_INT, root, comm), "MPI_Bcast(status)");
  if (!ok)
    throw std::runtime_error(rank == root ? root_error
                                          : "MPI rank " + std::to_string(root) + " could not create the NCCL unique id");
  // The id is an opaque 128-byte blob: bytes are the only faithful MPI type for it.
  mpi_check(MPI_Bcast(&id, static_cast<int>(sizeof id), MPI_BYTE, root, comm), "MPI_Bcast(ncclUniqueId)");
  return id;
}

}  // namespace tpbench
#endif  // TPBENCH_HAVE_MPI
