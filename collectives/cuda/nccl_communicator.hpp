#pragma once
// NcclCommunicator: one rank of an NCCL communicator, owning its ncclComm_t (RAII).
//
// Semantics are the Communicator interface's (= NCCL's, in-place use included); the `stream`
// argument of every collective is the cudaStream_t the operation is enqueued on (nullptr: the
// legacy default stream). Calls are asynchronous like NCCL's: they return once enqueued.
// Element types F32 and BF16; the reduction is a sum.
//
// Threads: a communicator is driven by one thread at a time (NCCL's rule). abort(),
// aborted() and async_error() may be called from any thread: that is what the watchdog does;
// async_error() never blocks (collectives/abort_guard.hpp).
//
// Errors: NCCL keeps its last error text per thread (ncclGetLastError). A failing call on the
// owner thread records that thread's text here, so that async_error(), called from the
// watchdog's thread, reports the failing rank's message and not the watchdog thread's.
//
// Lifetime: the destructor calls ncclCommDestroy, or nothing once abort() has run
// ncclCommAbort (which frees the communicator). Since NCCL 2.26 both wait until every CUDA
// graph that captured the communicator has been destroyed: destroy such graphs first. ncclCommDestroy is an intra-node collective in
// recent NCCL: destroy the communicators of one clique together — from one thread in order for
// a single-process group made by make_nccl_group (as NCCL's own examples do), or from every
// process/thread for ranks made by make_nccl_rank.
//
// Header usable from C++17 (.cu) and C++20 (.cpp) translation units.
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collectives/abort_guard.hpp"
#include "collectives/communicator.hpp"

namespace tpbench {

class NcclCommunicator final : public Communicator {
 public:
  // Takes ownership of `comm`, an initialised communicator of `size` ranks in which this one is
  // `rank`, bound to CUDA device `device`.
  NcclCommunicator(ncclComm_t comm, int rank, int size, int device);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* name() const override { return "nccl"; }
  int device() const { return device_; }

  // Enqueue on `stream` (a cudaStream_t). Throw std::runtime_error (file:line, NCCL's message)
  // when NCCL refuses, CollectiveAborted after abort().
  void all_reduce(const void* send, void* recv, size_t count, ElemType t,
                  void* stream = nullptr) override;
  void all_gather(const void* send, void* recv, size_t send_count, ElemType t,
                  void* stream = nullptr) override;
  void reduce_scatter(const void* send, void* recv, size_t recv_count, ElemType t,
                      void* stream = nullptr) override;
  // ncclSend/ncclRecv of each peer's part in one ncclGroupStart/End; std::invalid_argument when
  // send and recv overlap (no in-place form).
  void all_to_all(const void* send, void* recv, size_t count, ElemType t, void* stream = nullptr) override;

  // ncclCommAbort: kernels of this communicator stop, blocked calls return, the handle is
  // freed. Idempotent, thread-safe, never throws (an abort that fails is reported on stderr).
  // An abort that fails leaves the handle alone (neither freed nor destroyed later: a destroy
  // after a failed abort could wait for peers that are gone) and sets abort_failed(); the
  // caller must then not wait for this rank's streams without a limit, since its kernels may
  // still run (CudaRank::release_device).
  void abort() override;
  bool aborted() const { return guard_.aborted(); }
  bool abort_failed() const { return abort_failed_.load(); }

  // The asynchronous error NCCL has recorded on this communicator (ncclCommGetAsyncError), as
  // format_rank_error(...) with the last NCCL message this rank's owner thread recorded;
  // nullopt when there is none, after abort(), and while an abort or destroy holds the handle.
  // Thread-safe; never blocks.
  std::optional<std::string> async_error() const override;
  // The NCCL error text the owner thread recorded at its last failing call ("" when none).
  std::string last_error() const;

  // The raw handle for calls this class does not wrap (ncclGroupStart/End around several
  // collectives, graph capture). Still owned here; do not destroy it. nullptr after abort().
  ncclComm_t handle() const { return aborted() ? nullptr : comm_; }

 private:
  // Throws like TPBENCH_NCCL_CHECK, first recording this (the owner) thread's NCCL message.
  void check(ncclResult_t r, const char* what, int line);

  AbortGuard guard_;  // orders abort, destroy and async-error queries on comm_
  ncclComm_t comm_;
  int rank_, size_, device_;
  std::atomic<bool> abort_failed_{false};
  mutable std::mutex note_mu_;  // guards last_error_ only; never held across an NCCL call
  std::string last_error_;
};

// "rank R (GPU D): <error name> (<the rank's own last NCCL message>)"; the parenthesis only
// when there is a message. Pure: unit-tested.
std::string format_rank_error(int rank, int device, const std::string& error, const std::string& rank_message);

// collectives/watchdog.hpp's abort_all over NCCL communicators.
bool abort_all(const std::vector<NcclCommunicator*>& comms, std::chrono::milliseconds grace);
// The same list as the generic communicators the watchdog takes.
std::vector<Communicator*> as_communicators(const std::vector<NcclCommunicator*>& comms);

// ---- factories ------------------------------------------------------------------------

// Single process: one communicator per entry of `devices` (rank i on devices[i]), through
// ncclCommInitAll. A device listed twice means two ranks on one GPU, which needs NCCL >= 2.30
// with NCCL_MULTI_RANK_GPU_ENABLE=1 (checked first, see check_rank_placement); such groups are
// made with grouped ncclCommInitRank calls. Leaves the calling thread's current device as it
// was. Throws std::invalid_argument for an empty list.
std::vector<std::unique_ptr<NcclCommunicator>> make_nccl_group(const std::vector<int>& devices);

// One process per GPU: rank `rank` of `nranks` on `device`, joining the clique named by `id`
// (ncclCommInitRank; blocks until all ranks have joined). Makes `device` the calling thread's
// current device, since this process works on it from now on.
std::unique_ptr<NcclCommunicator> make_nccl_rank(int rank, int nranks, int device,
                                                 const ncclUniqueId& id);

// ---- versions and placement -----------------------------------------------------------

// ncclGetVersion of the loaded library, e.g. 22809 for 2.28.9 (major*10000 + minor*100 + patch).
int nccl_version();
// "2.28.9" from a version code.
std::string nccl_version_string(int code);

// The first NCCL release that lets several ranks share one GPU (with NCCL_MULTI_RANK_GPU_ENABLE=1).
constexpr int kNcclMultiRankGpuVersion = 23000;

// CUDA devices this process sees. Throws UnavailableError("--backend cuda: no usable CUDA
// device (<reason>)") when there is none (no driver, no GPU).
int visible_gpu_count();

// Whether `ranks` ranks can be placed on `gpus` GPUs; returns true when they share GPUs
// (oversubscribed). More ranks than GPUs is refused with one line unless `allow_oversubscribe`
// and NCCL >= 2.30 (`version_code`) and `multi_rank_env` (the value of
// NCCL_MULTI_RANK_GPU_ENABLE, nullptr when unset) is "1": UsageError for what the user can
// change (flag, environment), UnavailableError for an NCCL that is too old. Pure: unit-tested.
bool check_rank_placement(int ranks, int gpus, bool allow_oversubscribe, int version_code,
                          const char* multi_rank_env);
// The same with the loaded NCCL's version and this process's environment.
bool check_rank_placement(int ranks, int gpus, bool allow_oversubscribe);

}  // namespace tpbench
