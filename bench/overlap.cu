// Compute/communication overlap on the GPUs of this node, the mechanism behind --overlap
// streams|split: a decode GEMM of Llama-3.1-70B at TP = number of visible GPUs (gate/up:
// m = batch, k = 8192, n = 2 * 28672 / TP) alone, the all-reduce of batch x 8192 BF16 alone, and
// both at once on two streams. Counters: gemm_us, allreduce_us, both_us,
// exposed_us = both - gemm (the communication the GEMM did not hide) and hidden_fraction =
// (gemm + allreduce - both) / allreduce. On one GPU the all-reduce is a 1-rank NCCL
// communicator (a local copy): the numbers then show only the harness working.
// Unverified on hardware in this repository's history until results/ says otherwise.
#include <benchmark/benchmark.h>
#include <cuda_bf16.h>
#include <nccl.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "bench/detail/gpu_bench.cuh"
#include "collectives/cuda/nccl_check.hpp"
#include "collectives/cuda/nccl_communicator.hpp"
#include "harness/backend/cuda/gemm_runner.hpp"
#include "kernels/hold_stream.cuh"
#include "kernels/reference_ops.hpp"
#include "kernels/skinny_gemm.cuh"

namespace {

using namespace tpbench;
using tpbench::bench::CudaEvent;
using tpbench::bench::CudaStream;
using tpbench::bench::DeviceBuffer;

constexpr int64_t kHidden = 8192, kIntermediate = 28672;

struct Rank {
  int device = 0;
  std::unique_ptr<CudaStream> compute, comm;
  std::unique_ptr<CudaEvent> start, gemm_done, comm_done, end;
  std::unique_ptr<cuda::GemmRunner> gemm;
  DeviceBuffer a, w, out, msg;
};

struct Node {
  std::vector<std::unique_ptr<NcclCommunicator>> comms;
  std::vector<Rank> ranks;
};

std::unique_ptr<Node> make_node(int64_t max_batch) {
  if (!cuda_detail::cuda_device_available()) return nullptr;
  int gpus = 0;
  TPBENCH_CUDA_CHECK(cudaGetDeviceCount(&gpus));
  auto node = std::make_unique<Node>();
  std::vector<int> devices;
  for (int d = 0; d < gpus; ++d) devices.push_back(d);
  node->comms = make_nccl_group(devices);
  const int64_t n = 2 * kIntermediate / gpus;
  node->ranks.resize(size_t(gpus));
  for (int d = 0; d < gpus; ++d) {
    Rank& r = node->ranks[size_t(d)];
    r.device = d;
    TPBENCH_CUDA_CHECK(cudaSetDevice(d));
    r.compute = std::make_unique<CudaStream>();
    r.comm = std::make_unique<CudaStream>();
    r.start = std::make_unique<CudaEvent>();
    r.gemm_done = std::make_unique<CudaEvent>();
    r.comm_done = std::make_unique<CudaEvent>();
    r.end = std::make_unique<CudaEvent>();
    r.gemm = std::make_unique<cuda::GemmRunner>(32u << 20);
    // As the cuda backend does: the skinny kernel's split-K workspace for every decode batch up
    // front, or the runner falls back to cuBLASLt.
    size_t skinny_ws = 0;
    for (int64_t m = 1; m <= std::min<int64_t>(max_batch, tpbench::kernels::kSkinnyMaxM); ++m)
      skinny_ws = std::max(skinny_ws, tpbench::kernels::skinny_gemm_workspace_bytes(m, n, kHidden));
    r.gemm->reserve_skinny_workspace(skinny_ws, r.compute->get());
    r.a = DeviceBuffer(size_t(max_batch * kHidden) * 2);
    r.w = DeviceBuffer(size_t(kHidden * n) * 2);
    r.out = DeviceBuffer(size_t(max_batch * n) * 2);
    r.msg = DeviceBuffer(size_t(max_batch * kHidden) * 2);
    tpbench::bench::fill_random(r.a, 1, r.compute->get());
    tpbench::bench::fill_random(r.w, 2, r.compute->get());
    tpbench::bench::fill_random(r.msg, 3, r.compute->get());
    TPBENCH_CUDA_CHECK(cudaStreamSynchronize(r.compute->get()));
  }
  return node;
}

Node* node_for_benchmarks() {
  static std::unique_ptr<Node> node = make_node(512);  // built once, on first use
  return node.get();
}

// Enqueues the GEMM and/or the all-reduce on every rank (the all-reduces as one NCCL group,
// since one thread drives every communicator), bracketed by events on each rank.
void enqueue(Node& node, int64_t batch, bool gemm, bool allreduce) {
  const int64_t n = 2 * kIntermediate / int64_t(node.ranks.size());
  // Every rank held first, while the host enqueues the GEMMs and the NCCL group: host overhead
  // and the skew between ranks are not timed (they would count as "hidden" in both-minus-parts).
  const double hold_s = kernels::kLaunchHoldS + 40e-6 * double(node.ranks.size());
  for (Rank& r : node.ranks) {
    TPBENCH_CUDA_CHECK(cudaSetDevice(r.device));
    TPBENCH_CUDA_CHECK(kernels::hold_stream(hold_s, r.compute->get()));
  }
  for (Rank& r : node.ranks) {
    TPBENCH_CUDA_CHECK(cudaSetDevice(r.device));
    TPBENCH_CUDA_CHECK(cudaEventRecord(r.start->get(), r.compute->get()));
    TPBENCH_CUDA_CHECK(cudaStreamWaitEvent(r.comm->get(), r.start->get(), 0));
    if (gemm)
      r.gemm->run(r.a.get<__nv_bfloat16>(), kHidden, r.w.get<__nv_bfloat16>(), n, r.out.get<__nv_bfloat16>(), n,
                  batch, n, kHidden, r.compute->get());
  }
  if (allreduce) {
    tpbench::detail::NcclGroup group;
    for (size_t i = 0; i < node.ranks.size(); ++i)
      node.comms[i]->all_reduce(node.ranks[i].msg.get(), node.ranks[i].msg.get(), size_t(batch * kHidden),
                                ElemType::BF16, node.ranks[i].comm->get());
    group.end();
  }
  for (Rank& r : node.ranks) {
    TPBENCH_CUDA_CHECK(cudaSetDevice(r.device));
    TPBENCH_CUDA_CHECK(cudaEventRecord(r.comm_done->get(), r.comm->get()));
    TPBENCH_CUDA_CHECK(cudaStreamWaitEvent(r.compute->get(), r.comm_done->get(), 0));
    TPBENCH_CUDA_CHECK(cudaEventRecord(r.end->get(), r.compute->get()));
  }
}

// Seconds of one configuration: the slowest rank's start-to-end.
double timed(Node& node, int64_t batch, bool gemm, bool allreduce) {
  enqueue(node, batch, gemm, allreduce);
  double worst = 0;
  for (Rank& r : node.ranks) {
    TPBENCH_CUDA_CHECK(cudaEventSynchronize(r.end->get()));
    float ms = 0;
    TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, r.start->get(), r.end->get()));
    worst = std::max(worst, double(ms) * 1e-3);
  }
  return worst;
}

void run_overlap(benchmark::State& state);

// Google Benchmark does not catch exceptions: an uncaught CUDA/NCCL/cuBLAS error would abort the
// binary and leave its JSON unterminated. Report it on the benchmark instead.
void BM_GemmAllReduceOverlap(benchmark::State& state) {
  try {
    run_overlap(state);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void run_overlap(benchmark::State& state) {
  Node* node = node_for_benchmarks();
  if (node == nullptr) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const int64_t batch = state.range(0);
  for (int i = 0; i < 3; ++i) timed(*node, batch, true, true);  // warm-up: algorithms, NCCL setup
  double gemm = 0, coll = 0, both = 0;
  for (auto _ : state) {
    const double g = timed(*node, batch, true, false), c = timed(*node, batch, false, true);
    const double b = timed(*node, batch, true, true);
    gemm += g;
    coll += c;
    both += b;
    state.SetIterationTime(b);
  }
  const double it = double(state.iterations());
  state.counters["gemm_us"] = gemm / it * 1e6;
  state.counters["allreduce_us"] = coll / it * 1e6;
  state.counters["both_us"] = both / it * 1e6;
  state.counters["exposed_us"] = (both - gemm) / it * 1e6;
  state.counters["hidden_fraction"] = coll > 0 ? (gemm + coll - both) / coll : 0;
  state.counters["ranks"] = double(node->ranks.size());
  state.SetLabel(node->ranks.size() == 1 ? "1 GPU: all-reduce is a 1-rank copy" : "NVLink group");
}

BENCHMARK(BM_GemmAllReduceOverlap)->Arg(8)->Arg(32)->Arg(128)->Arg(512)->UseManualTime()->Iterations(20);

}  // namespace

BENCHMARK_MAIN();
