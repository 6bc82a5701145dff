// `tpbench calibrate`: NCCL collective time tables per operation and group size (2, 4, 8 that
// the selected GPUs allow). One process, one thread per rank, each launching on its own
// communicator: one thread launching every rank's kernel (inside ncclGroupStart/End, as
// nccl-tests -g does) would time the host's launches at small sizes, where a decode step's
// all-reduces live, and the sweeps replay collectives from CUDA graphs without that cost.
// Sizes are nccl-tests sizes (collectives/bandwidth.hpp), BF16 (what a TP step reduces), out
// of place. Per size: warm-up, a rendezvous of the idle ranks, then one timed loop per rank
// between CUDA events on its stream; the time is the slowest rank's mean per operation. A
// watchdog turns a hung size into a one-line exit instead of a hang; a failing rank breaks the
// rendezvous and aborts the group, so no thread waits forever.
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collectives/bandwidth.hpp"
#include "collectives/cuda/nccl_check.hpp"
#include "collectives/cuda/nccl_communicator.hpp"
#include "collectives/watchdog.hpp"
#include "collectives/detail/breakable_barrier.hpp"
#include "harness/commands/cuda/calibrate_cuda.hpp"
#include "harness/common/error.hpp"
#include "kernels/random_fill.cuh"

namespace tpbench::calibrate {
namespace {

constexpr size_t kElem = 2;  // BF16

// One rank's stream, events and buffers; constructed with its device current.
struct Rank {
  explicit Rank(size_t bytes) : in(bytes), out(bytes) {}
  cuda::Stream stream;
  cuda::Event start{true}, stop{true};
  cuda::DeviceBuffer in, out;
};

// Per-rank count argument for each requested size; sizes that round to the same count (at
// least one element per rank) are measured once.
std::vector<size_t> counts_for(const CalibrateRequest& req, CollectiveKind op, int group) {
  std::vector<size_t> counts;
  for (size_t size : req.collective_sizes) {
    const size_t c = std::max<size_t>(1, collective_count_for_size(op, size, kElem, group));
    if (counts.empty() || counts.back() != c) counts.push_back(c);
  }
  return counts;
}

// The largest buffer any rank of a group of `g` needs (input or output), refused when it does not
// fit on one of the devices.
size_t checked_buffer_bytes(const CalibrateRequest& req, const std::vector<int>& devices) {
  const int g = int(devices.size());
  size_t max_bytes = 0;
  for (CollectiveKind op : req.collective_ops)
    // nccl-tests' size is the larger of a rank's input and output (all_reduce: either; all_gather:
    // the output; reduce_scatter: the input): exactly the buffer a rank needs.
    for (size_t c : counts_for(req, op, g)) max_bytes = std::max(max_bytes, collective_size_bytes(op, c, kElem, g));
  for (int d : devices) {
    cuda::DeviceScope scope(d);
    // Beside in and out, NCCL's own buffers need a few hundred MiB per communicator.
    if (2.0 * double(max_bytes) > 0.8 * double(free_device_bytes()) - double(size_t(512) << 20))
      throw UsageError("calibrate: collectives up to " + std::to_string(max_bytes) + " B do not fit on GPU " +
                       std::to_string(d) + " (lower --max-bytes)");
  }
  return max_bytes;
}

// One rank per device, its input random and its output zeroed.
std::vector<std::unique_ptr<Rank>> filled_ranks(const std::vector<int>& devices, size_t max_bytes) {
  std::vector<std::unique_ptr<Rank>> ranks;
  for (size_t r = 0; r < devices.size(); ++r) {
    cuda::DeviceScope scope(devices[r]);
    ranks.push_back(std::make_unique<Rank>(max_bytes));
    Rank& k = *ranks.back();
    TPBENCH_CUDA_CHECK(kernels::random_fill_bf16(k.in.get<__nv_bfloat16>(), int64_t(max_bytes / kElem), 0x636f6c6c,
                                                 uint64_t(r), 1.0f, 0.0f, k.stream.get()));
    TPBENCH_CUDA_CHECK(cudaMemsetAsync(k.out.get(), 0, max_bytes, k.stream.get()));
    TPBENCH_CUDA_CHECK(cudaStreamSynchronize(k.stream.get()));
  }
  return ranks;
}

void measure_group(const CalibrateRequest& req, const std::vector<int>& devices, CalibrateMeasurements& m) {
  const int g = int(devices.size());
  const size_t max_bytes = checked_buffer_bytes(req, devices);
  auto comms = make_nccl_group(devices);
  std::vector<NcclCommunicator*> raw;
  for (auto& c : comms) raw.push_back(c.get());
  CollectiveWatchdog dog(as_communicators(raw));  // destroyed before the communicators it watches
  const std::vector<std::unique_ptr<Rank>> ranks = filled_ranks(devices, max_bytes);
  struct Case {
    CollectiveKind op;
    size_t count;
  };
  std::vector<Case> cases;
  for (CollectiveKind op : req.collective_ops)
    for (size_t count : counts_for(req, op, g)) cases.push_back({op, count});
  detail::BreakableBarrier barrier(g);
  std::vector<double> seconds(size_t(g), 0.0);
  auto rank_main = [&](int r) {
    NcclCommunicator& c = *raw[size_t(r)];
    Rank& k = *ranks[size_t(r)];
    cuda::DeviceScope scope(devices[size_t(r)]);
    const cudaStream_t s = k.stream.get();
    for (const Case& cs : cases) {
      const size_t bytes = collective_size_bytes(cs.op, cs.count, kElem, g);
      auto once = [&] { c.run(cs.op, k.in.get(), k.out.get(), cs.count, ElemType::BF16, s); };
      if (r == 0) {
        const int ops = req.collective_warmup + req.collective_iters;
        dog.arm(std::chrono::milliseconds(60'000 + int64_t(double(ops) * double(bytes) / 1e6)),  // >= 1 GB/s
                std::string(collective_name(cs.op)) + " of " + std::to_string(bytes) + " B on " + std::to_string(g) +
                    " GPUs");
      }
      barrier.arrive_and_wait();  // (1) the watchdog armed
      for (int i = 0; i < req.collective_warmup; ++i) once();
      TPBENCH_CUDA_CHECK(cudaStreamSynchronize(s));
      barrier.arrive_and_wait();  // (2) every rank warm and idle
      // The threads leave the rendezvous one by one: one untimed collective first, so that every
      // rank's start event fires when the group is aligned on the GPUs, not when its thread woke.
      once();
      TPBENCH_CUDA_CHECK(cudaEventRecord(k.start.get(), s));
      for (int i = 0; i < req.collective_iters; ++i) once();
      TPBENCH_CUDA_CHECK(cudaEventRecord(k.stop.get(), s));
      TPBENCH_CUDA_CHECK(cudaEventSynchronize(k.stop.get()));
      float ms = 0;
      TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, k.start.get(), k.stop.get()));
      seconds[size_t(r)] = double(ms) * 1e-3 / req.collective_iters;
      barrier.arrive_and_wait();  // (3) every rank measured
      if (r == 0) {
        dog.disarm();
        m.collectives.push_back({cs.op, g, double(bytes), *std::max_element(seconds.begin(), seconds.end())});
      }
    }
  };
  std::mutex error_mu;
  std::exception_ptr first_error;
  auto fail = [&](std::exception_ptr e, int rank) {
    {
      std::lock_guard<std::mutex> lock(error_mu);
      if (first_error) return;  // an echo of the cause in another rank: already handled
      first_error = e;
    }
    if (rank >= 0) dog.note_rank_failure(rank, exception_message(e));  // named if the watchdog fires
    barrier.breakdown();
    abort_all(raw, kAbortGrace);  // peers blocked in NCCL return
  };
  std::vector<std::thread> threads;
  threads.reserve(size_t(g));
  try {
    for (int r = 0; r < g; ++r)
      threads.emplace_back([&, r] {
        try {
          rank_main(r);
        } catch (...) {
          fail(std::current_exception(), r);
        }
      });
  } catch (...) {  // no thread for a rank: release the started ones before leaving
    fail(std::current_exception(), -1);
  }
  for (std::thread& t : threads) t.join();
  dog.disarm();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace

void measure_collectives(const CalibrateRequest& req, const std::vector<int>& devices, CalibrateMeasurements& m) {
  const int n = int(devices.size());
  if (req.collective_ops.empty() || req.collective_sizes.empty()) {
    m.collective_note = "no collective sizes requested";
    return;
  }
  if (n < 2) {
    // NCCL refuses two ranks on one GPU before 2.30, and shared-GPU timings would mean nothing.
    m.collective_note = "only 1 GPU selected: no NCCL group of 2 or more GPUs can be measured";
    return;
  }
  std::string missing;
  for (int g : {2, 4, 8}) {
    if (g > n) {
      missing += (missing.empty() ? "" : ", ") + std::to_string(g);
      continue;
    }
    measure_group(req, std::vector<int>(devices.begin(), devices.begin() + g), m);
  }
  if (!missing.empty())
    m.collective_note = "group size(s) " + missing + " need more than the " + std::to_string(n) + " GPUs selected";
}

}  // namespace tpbench::calibrate
