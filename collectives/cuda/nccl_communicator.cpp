#include "collectives/cuda/nccl_communicator.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <thread>

#include "collectives/cuda/nccl_check.hpp"
#include "collectives/inprocess_communicator.hpp"  // CollectiveAborted
#include "collectives/watchdog.hpp"
#include "harness/common/error.hpp"
#include "kernels/detail/cuda_check.hpp"

namespace tpbench {

namespace {

ncclDataType_t nccl_type(ElemType t) { return t == ElemType::F32 ? ncclFloat32 : ncclBfloat16; }

// Restores the calling thread's current device on scope exit: factories and destructors set
// the device NCCL needs without changing what the caller's thread works on.
class DeviceRestorer {
 public:
  DeviceRestorer() { ok_ = cudaGetDevice(&saved_) == cudaSuccess; }
  ~DeviceRestorer() {
    if (ok_) (void)cudaSetDevice(saved_);  // best effort: destructors do not throw
  }
  DeviceRestorer(const DeviceRestorer&) = delete;
  DeviceRestorer& operator=(const DeviceRestorer&) = delete;

 private:
  int saved_ = 0;
  bool ok_ = false;
};

// Owns raw handles while a group is being built, so a failure half-way frees what was made.
struct PendingComms {
  std::vector<ncclComm_t> comms;
  ~PendingComms() {
    for (ncclComm_t c : comms)
      if (c != nullptr) (void)ncclCommAbort(c);  // a half-built clique cannot be destroyed cleanly
  }
};

}  // namespace

NcclCommunicator::NcclCommunicator(ncclComm_t comm, int rank, int size, int device)
    : comm_(comm), rank_(rank), size_(size), device_(device) {
  if (comm == nullptr) throw std::invalid_argument("NcclCommunicator: null ncclComm_t");
}

NcclCommunicator::~NcclCommunicator() {
  guard_.destroy([this] {
    DeviceRestorer restore;
    (void)cudaSetDevice(device_);
    const ncclResult_t r = ncclCommDestroy(comm_);
    if (r != ncclSuccess)  // cannot throw from a destructor; say it once, do not hide it
      std::fprintf(stderr, "tpbench: warning: ncclCommDestroy (rank %d, GPU %d) failed: %s\n", rank_, device_,
                   ncclGetErrorString(r));
  });
}

void NcclCommunicator::check(ncclResult_t r, const char* what, int line) {
  if (r == ncclSuccess) return;
#if NCCL_VERSION_CODE >= 21300
  const char* last = ncclGetLastError(comm_);  // this thread's text: the owner's
  if (last != nullptr && last[0] != '\0') {
    std::lock_guard<std::mutex> lock(note_mu_);
    last_error_ = last;
  }
#endif
  detail::throw_nccl_error(what, r, __FILE__, line);
}

std::string NcclCommunicator::last_error() const {
  std::lock_guard<std::mutex> lock(note_mu_);
  return last_error_;
}

void NcclCommunicator::all_reduce(const void* send, void* recv, size_t count, ElemType t, void* stream) {
  if (aborted()) throw CollectiveAborted("NCCL communicator was aborted");
  check(ncclAllReduce(send, recv, count, nccl_type(t), ncclSum, comm_, static_cast<cudaStream_t>(stream)),
        "ncclAllReduce", __LINE__);
}

void NcclCommunicator::all_gather(const void* send, void* recv, size_t send_count, ElemType t,
                                  void* stream) {
  if (aborted()) throw CollectiveAborted("NCCL communicator was aborted");
  check(ncclAllGather(send, recv, send_count, nccl_type(t), comm_, static_cast<cudaStream_t>(stream)),
        "ncclAllGather", __LINE__);
}

void NcclCommunicator::reduce_scatter(const void* send, void* recv, size_t recv_count, ElemType t,
                                      void* stream) {
  if (aborted()) throw CollectiveAborted("NCCL communicator was aborted");
  check(ncclReduceScatter(send, recv, recv_count, nccl_type(t), ncclSum, comm_, static_cast<cudaStream_t>(stream)),
        "ncclReduceScatter", __LINE__);
}

void NcclCommunicator::all_to_all(const void* send, void* recv, size_t count, ElemType t, void* stream) {
  if (aborted()) throw CollectiveAborted("NCCL communicator was aborted");
  const size_t part = count * elem_size(t);
  if (buffers_overlap(send, recv, part * size_t(size_)))
    throw std::invalid_argument("all_to_all: send and recv buffers overlap (all_to_all has no in-place form)");
  if (count == 0) return;  // nothing to send (nccl-tests' alltoall returns early too)
  const auto s = static_cast<cudaStream_t>(stream);
  const ncclDataType_t type = nccl_type(t);
  // One group: NCCL matches every rank's sends with its peers' receives only once the group
  // ends, so no pair waits for another (the grouped form of nccl-tests' src/alltoall.cu).
  check(ncclGroupStart(), "ncclGroupStart", __LINE__);
  try {
    for (int p = 0; p < size_; ++p) {
      const size_t at = size_t(p) * part;
      check(ncclSend(static_cast<const char*>(send) + at, count, type, p, comm_, s), "ncclSend", __LINE__);
      check(ncclRecv(static_cast<char*>(recv) + at, count, type, p, comm_, s), "ncclRecv", __LINE__);
    }
  } catch (...) {
    // Never leave this thread inside an open group, where its later NCCL calls would be deferred
    // without an error (detail::NcclGroup); the failure being reported is the one above.
    (void)ncclGroupEnd();
    throw;
  }
  check(ncclGroupEnd(), "ncclGroupEnd", __LINE__);
}

void NcclCommunicator::abort() {
  // The guard marks the handle aborted first: a collective called from the owner thread from
  // now on throws instead of touching a handle that is being freed. comm_ keeps its (soon dead)
  // value: the owner may be reading it inside a collective call right now.
  guard_.abort([this] {
    const ncclResult_t r = ncclCommAbort(comm_);
    if (r != ncclSuccess) {
      abort_failed_.store(true);
      std::fprintf(stderr, "tpbench: warning: ncclCommAbort (rank %d, GPU %d) failed: %s; its handle is left as it is\n",
                   rank_, device_, ncclGetErrorString(r));
    }
  });
}

std::string format_rank_error(int rank, int device, const std::string& error, const std::string& rank_message) {
  std::string msg = "rank " + std::to_string(rank) + " (GPU " + std::to_string(device) + "): " + error;
  if (!rank_message.empty()) msg += " (" + rank_message + ")";
  return msg;
}

std::optional<std::string> NcclCommunicator::async_error() const {
  return guard_.try_query([this]() -> std::optional<std::string> {
    ncclResult_t async = ncclSuccess;
    const ncclResult_t r = ncclCommGetAsyncError(comm_, &async);
    const ncclResult_t e = r != ncclSuccess ? r : async;
    // ncclInProgress only means a non-blocking operation has not finished: not an error.
    if (e == ncclSuccess || e == ncclInProgress) return std::nullopt;
    // Not ncclGetLastError here: on this (the watchdog's) thread it holds this thread's text.
    return format_rank_error(rank_, device_, ncclGetErrorString(e), last_error());
  });
}

bool abort_all(const std::vector<NcclCommunicator*>& comms, std::chrono::milliseconds grace) {
  return abort_all(as_communicators(comms), grace);
}

std::vector<Communicator*> as_communicators(const std::vector<NcclCommunicator*>& comms) {
  return std::vector<Communicator*>(comms.begin(), comms.end());
}

// ---- factories ------------------------------------------------------------------------

std::vector<std::unique_ptr<NcclCommunicator>> make_nccl_group(const std::vector<int>& devices) {
  if (devices.empty()) throw std::invalid_argument("make_nccl_group: no devices");
  const int n = static_cast<int>(devices.size());
  const std::set<int> distinct(devices.begin(), devices.end());
  const bool shared = static_cast<int>(distinct.size()) < n;
  if (shared) check_rank_placement(n, static_cast<int>(distinct.size()), /*allow_oversubscribe=*/true);

  DeviceRestorer restore;
  PendingComms pending;
  pending.comms.assign(devices.size(), nullptr);
  if (!shared) {
    TPBENCH_NCCL_CHECK(ncclCommInitAll(pending.comms.data(), n, devices.data()));
  } else {
    // ncclCommInitAll takes distinct devices; ranks sharing a GPU join one clique through
    // ncclCommInitRank, grouped so that one thread can initialise them all.
    ncclUniqueId id;
    TPBENCH_NCCL_CHECK(ncclGetUniqueId(&id));
    // Every device is usable before the group starts: an error inside it would still submit
    // the ranks already queued, which would then wait for the others.
    for (int d : devices) TPBENCH_CUDA_CHECK(cudaSetDevice(d));
    detail::NcclGroup group;
    for (int i = 0; i < n; ++i) {
      TPBENCH_CUDA_CHECK(cudaSetDevice(devices[static_cast<size_t>(i)]));
      TPBENCH_NCCL_CHECK(ncclCommInitRank(&pending.comms[static_cast<size_t>(i)], n, id, i));
    }
    group.end();
  }
  std::vector<std::unique_ptr<NcclCommunicator>> group;
  group.reserve(devices.size());
  for (int i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i);
    group.push_back(std::make_unique<NcclCommunicator>(pending.comms[k], i, n, devices[k]));
    pending.comms[k] = nullptr;  // owned by the communicator now
  }
  return group;
}

std::unique_ptr<NcclCommunicator> make_nccl_rank(int rank, int nranks, int device, const ncclUniqueId& id) {
  if (nranks < 1 || rank < 0 || rank >= nranks)
    throw std::invalid_argument("make_nccl_rank: rank " + std::to_string(rank) + " of " + std::to_string(nranks));
  TPBENCH_CUDA_CHECK(cudaSetDevice(device));
  ncclComm_t comm = nullptr;
  TPBENCH_NCCL_CHECK(ncclCommInitRank(&comm, nranks, id, rank));
  try {
    return std::make_unique<NcclCommunicator>(comm, rank, nranks, device);
  } catch (...) {
    (void)ncclCommAbort(comm);
    throw;
  }
}

// ---- versions and placement -----------------------------------------------------------

int nccl_version() {
  int v = 0;
  TPBENCH_NCCL_CHECK(ncclGetVersion(&v));
  return v;
}

std::string nccl_version_string(int code) {
  // Codes since NCCL 2.9 are major*10000 + minor*100 + patch; older ones major*1000 + minor*100 + patch.
  const int major = code >= 10000 ? code / 10000 : code / 1000;
  const int minor = code >= 10000 ? code % 10000 / 100 : code % 1000 / 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(code % 100);
}

int visible_gpu_count() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // consumed here, so later CUDA calls do not report it again
    throw UnavailableError(std::string("--backend cuda: no usable CUDA device (") + cudaGetErrorString(e) + ")");
  }
  if (n <= 0) throw UnavailableError("--backend cuda: no usable CUDA device (0 devices)");
  return n;
}

bool check_rank_placement(int ranks, int gpus, bool allow_oversubscribe, int version_code,
                          const char* multi_rank_env) {
  if (ranks < 1) throw UsageError("need at least 1 rank, got " + std::to_string(ranks));
  if (gpus < 1) throw UnavailableError("--backend cuda: no usable CUDA device (0 devices)");
  if (ranks <= gpus) return false;
  const std::string what = std::to_string(ranks) + " ranks need " + std::to_string(ranks) + " GPUs but " +
                           std::to_string(gpus) + (gpus == 1 ? " is" : " are") + " visible";
  if (!allow_oversubscribe)
    throw UsageError(what + " (--oversubscribe shares GPUs for functional checks, with NCCL >= 2.30 and "
                            "NCCL_MULTI_RANK_GPU_ENABLE=1)");
  if (version_code < kNcclMultiRankGpuVersion)
    throw UnavailableError(what + ": NCCL " + nccl_version_string(version_code) +
                           " refuses several ranks on one GPU (NCCL >= 2.30 allows it)");
  if (multi_rank_env == nullptr || std::strcmp(multi_rank_env, "1") != 0)
    throw UsageError(what + ": sharing GPUs needs NCCL_MULTI_RANK_GPU_ENABLE=1 in the environment");
  return true;
}

bool check_rank_placement(int ranks, int gpus, bool allow_oversubscribe) {
  // Only ask NCCL when it matters, so that the common case works even where the library
  // cannot be queried.
  if (ranks >= 1 && gpus >= 1 && ranks <= gpus) return false;
  return check_rank_placement(ranks, gpus, allow_oversubscribe, allow_oversubscribe ? nccl_version() : 0,
                              std::getenv("NCCL_MULTI_RANK_GPU_ENABLE"));
}

}  // namespace tpbench
