// The collective driver on NCCL (`tpbench collective --backend cuda`): real GPUs, one thread per rank, in one process
// (communicators from ncclCommInitAll). Rank r runs on GPU r (r mod GPUs when ranks share GPUs,
// which needs NCCL >= 2.30 and NCCL_MULTI_RANK_GPU_ENABLE=1).
//
// Per size, every rank: warm-up; a host rendezvous so all ranks start together; the timed loop
// between two CUDA events on the rank's stream; then one more collective into an output
// poisoned with NaN, copied back and compared exactly with collective_expected(). A size's
// time is the slowest rank's mean per collective (DESIGN.md: a step's time is the slowest
// rank's). A watchdog bounds every size: a hung or failed NCCL exits with one line instead of
// hanging, and a rank that throws aborts the communicators so the others return too.
#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kernels/detail/cuda_raii.hpp"
#include "collectives/cuda/nccl_communicator.hpp"
#include "collectives/watchdog.hpp"
#include "collectives/detail/breakable_barrier.hpp"
#include "collectives/inprocess_communicator.hpp"  // CollectiveAborted
#include "collectives/bandwidth.hpp"
#include "collectives/collective_driver.hpp"
#include "harness/common/error.hpp"
#include "kernels/detail/cuda_check.hpp"

namespace tpbench {

namespace {

using detail::BreakableBarrier;

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1 << 30)
    std::snprintf(buf, sizeof buf, "%.1f GiB", b / (1 << 30));
  else if (b >= 1 << 20)
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

// Refuses, with one line, a sweep whose largest size does not fit the GPUs or the host (every
// rank's output comes back to the host to be checked, beside the expected values).
void check_memory(const CollectiveRequest& req, const std::vector<int>& devices) {
  const size_t max_count = *std::max_element(req.counts.begin(), req.counts.end());
  const double per_rank = sizeof(float) * static_cast<double>(collective_input_elems(req.op, req.ranks, max_count) +
                                                              collective_output_elems(req.op, req.ranks, max_count));
  for (int d : std::set<int>(devices.begin(), devices.end())) {
    const double ranks_here = static_cast<double>(std::count(devices.begin(), devices.end(), d));
    TPBENCH_CUDA_CHECK(cudaSetDevice(d));
    size_t free_b = 0, total_b = 0;
    TPBENCH_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    // NCCL's own buffers (a few hundred MiB per communicator) need room too.
    if (ranks_here * per_rank > 0.8 * static_cast<double>(free_b) - 512.0 * (1 << 20) * ranks_here)
      throw UsageError("the largest size needs " + human_bytes(ranks_here * per_rank) + " on GPU " +
                       std::to_string(d) + ", which has " + human_bytes(static_cast<double>(free_b)) +
                       " free (lower --max-bytes)");
  }
  // Every rank's input and output on the host, and the expected values (all_to_all's hold
  // every rank's own result).
  const double out_elems = static_cast<double>(collective_output_elems(req.op, req.ranks, max_count));
  const double host_need = sizeof(float) * (out_elems * req.ranks +
                                            static_cast<double>(collective_expected_elems(req.op, req.ranks, max_count)) +
                                            static_cast<double>(collective_input_elems(req.op, req.ranks, max_count)) * req.ranks);
  const double host_have = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  if (host_have > 0 && host_need > 0.5 * host_have)
    throw UsageError("checking the largest size needs " + human_bytes(host_need) + " of host memory (this machine has " +
                     human_bytes(host_have) + "; lower --max-bytes)");
}

// Generous: a healthy collective takes micro- to milliseconds; this only catches hangs.
std::chrono::milliseconds size_timeout(const CollectiveRequest& req, size_t count) {
  const double bytes = static_cast<double>(collective_size_bytes(req.op, count, sizeof(float), req.ranks));
  const double ops = req.warmup + req.iters + 1;
  return std::chrono::milliseconds(60'000 + static_cast<long long>(ops * bytes / 1e9 * 1000));  // >= 1 GB/s
}

struct Shared {
  const CollectiveRequest& req;
  const CollectiveSink& sink;
  BreakableBarrier barrier;
  CollectiveWatchdog& dog;
  std::vector<double> seconds;  // per rank, current size
  std::vector<int64_t> wrong;   // per rank, current size
  std::vector<float> expected;  // written by rank 0 before rendezvous (1), read by all after it
};

void run_rank(NcclCommunicator& comm, Shared& sh) {
  const CollectiveRequest& req = sh.req;
  const int rank = comm.rank();
  const size_t r = static_cast<size_t>(rank);
  TPBENCH_CUDA_CHECK(cudaSetDevice(comm.device()));
  cuda_detail::CudaStream stream;
  cuda_detail::CudaEvent start, stop;
  const size_t max_count = *std::max_element(req.counts.begin(), req.counts.end());
  const size_t in_max = collective_input_elems(req.op, req.ranks, max_count);
  cuda_detail::DeviceBuffer in(in_max * sizeof(float));
  cuda_detail::DeviceBuffer out(collective_output_elems(req.op, req.ranks, max_count) * sizeof(float));
  {
    // Inputs depend only on (seed, rank, index), so the prefix of the largest input is the
    // input of every smaller size: written once, never zero, never read unwritten.
    std::vector<float> host(in_max);
    for (size_t i = 0; i < in_max; ++i) host[i] = collective_input(req.seed, rank, i);
    TPBENCH_CUDA_CHECK(cudaMemcpy(in.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
  }
  std::vector<float> result;
  for (size_t k = 0; k < req.counts.size(); ++k) {
    const size_t count = req.counts[k];
    const size_t out_elems = collective_output_elems(req.op, req.ranks, count);
    if (rank == 0) {
      sh.expected = collective_expected(req.op, req.ranks, count, req.seed);
      sh.dog.arm(size_timeout(req, count),
                 std::string(collective_name(req.op)) + " of " +
                     std::to_string(collective_size_bytes(req.op, count, sizeof(float), req.ranks)) + " B on " +
                     std::to_string(req.ranks) + " ranks");
    }
    sh.barrier.arrive_and_wait();  // (1) expected values ready, the watchdog armed
    auto once = [&] { comm.run(req.op, in.get(), out.get(), count, ElemType::F32, stream.get()); };
    for (int i = 0; i < req.warmup; ++i) once();
    TPBENCH_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
    sh.barrier.arrive_and_wait();  // (2) every rank warm and idle
    // The threads leave the rendezvous one by one: one untimed collective first, so that every
    // rank's start event fires when the group is aligned on the GPUs, not when its thread woke.
    once();
    TPBENCH_CUDA_CHECK(cudaEventRecord(start.get(), stream.get()));
    for (int i = 0; i < req.iters; ++i) once();
    TPBENCH_CUDA_CHECK(cudaEventRecord(stop.get(), stream.get()));
    TPBENCH_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    float ms = 0;
    TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    sh.seconds[r] = ms / 1e3 / req.iters;
    // Checked on a fresh output (0xFF bytes are a NaN), so a stale buffer cannot pass.
    TPBENCH_CUDA_CHECK(cudaMemsetAsync(out.get(), 0xFF, out_elems * sizeof(float), stream.get()));
    once();
    result.resize(out_elems);
    TPBENCH_CUDA_CHECK(cudaMemcpyAsync(result.data(), out.get(), out_elems * sizeof(float), cudaMemcpyDeviceToHost,
                                   stream.get()));
    TPBENCH_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
    sh.wrong[r] = collective_wrong(req.op, rank, req.ranks, count, sh.expected, result.data());
    sh.barrier.arrive_and_wait();  // (3) every rank measured and checked
    if (rank == 0) {
      sh.dog.disarm();
      CollectiveTiming t;
      t.time_s = *std::max_element(sh.seconds.begin(), sh.seconds.end());
      for (int64_t w : sh.wrong) t.wrong += w;
      sh.sink(k, t);
    }
  }
}

}  // namespace

void run_collective_cuda(const CollectiveRequest& req, const CollectiveSink& sink) {
  if (req.counts.empty()) return;
  const int gpus = visible_gpu_count();
  // `tpbench collective` has no --oversubscribe flag: NCCL_MULTI_RANK_GPU_ENABLE=1, which NCCL
  // itself requires for ranks sharing a GPU, is the opt-in.
  const char* multi = std::getenv("NCCL_MULTI_RANK_GPU_ENABLE");
  std::vector<int> pool = req.devices;
  if (pool.empty())
    for (int d = 0; d < gpus; ++d) pool.push_back(d);
  for (int d : pool)
    if (d < 0 || d >= gpus)
      throw UsageError("GPU " + std::to_string(d) + " does not exist (" + std::to_string(gpus) + " visible)");
  if (static_cast<int>(pool.size()) > req.ranks) pool.resize(static_cast<size_t>(req.ranks));
  check_rank_placement(req.ranks, static_cast<int>(pool.size()), multi != nullptr && std::strcmp(multi, "1") == 0);
  std::vector<int> devices(static_cast<size_t>(req.ranks));
  for (int i = 0; i < req.ranks; ++i) devices[static_cast<size_t>(i)] = pool[static_cast<size_t>(i) % pool.size()];
  check_memory(req, devices);

  std::vector<std::unique_ptr<NcclCommunicator>> comms = make_nccl_group(devices);
  std::vector<NcclCommunicator*> raw;
  for (auto& c : comms) raw.push_back(c.get());
  CollectiveWatchdog dog(as_communicators(raw));  // destroyed (joined) before the communicators it watches

  Shared sh{req, sink, BreakableBarrier(req.ranks), dog, std::vector<double>(devices.size(), 0.0),
            std::vector<int64_t>(devices.size(), 0), {}};
  std::mutex error_mu;
  std::exception_ptr first_error;
  std::vector<std::thread> threads;
  threads.reserve(comms.size());
  auto fail = [&](std::exception_ptr e, int rank) {
    {
      std::lock_guard<std::mutex> lock(error_mu);
      if (first_error) return;  // an echo of the cause in another rank: already handled
      first_error = e;
    }
    if (rank >= 0) dog.note_rank_failure(rank, exception_message(e));  // named if the watchdog fires
    sh.barrier.breakdown();
    abort_all(raw, kAbortGrace);  // peers blocked in NCCL return
  };
  try {
    for (NcclCommunicator* c : raw)
      threads.emplace_back([&, c] {
        try {
          run_rank(*c, sh);
        } catch (...) {
          fail(std::current_exception(), c->rank());
        }
      });
  } catch (...) {  // no thread for a rank: release the started ones before leaving
    fail(std::current_exception(), -1);
  }
  for (std::thread& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace tpbench
