#include "collectives/cuda/device_local_group.hpp"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "collectives/detail/breakable_barrier.hpp"
#include "kernels/detail/cuda_check.hpp"

namespace tpbench {

constexpr int kMaxLocalRanks = 16;

namespace detail {

struct DeviceLocalState {
  DeviceLocalState(int ranks, double timeout) : n(ranks), timeout_s(timeout), barrier(ranks) {}
  const int n;
  const double timeout_s;
  BreakableBarrier barrier;  // its mutex also publishes send[] to the peers
  const void* send[kMaxLocalRanks] = {};
  cudaEvent_t ready[kMaxLocalRanks] = {};
  cudaEvent_t done[kMaxLocalRanks] = {};

  void rendezvous() { barrier.arrive_and_wait(timeout_s); }
};

}  // namespace detail

namespace {

struct Inputs {
  const void* p[kMaxLocalRanks];
};

template <typename T>
__device__ float load(const T* p, size_t i);
template <>
__device__ float load<float>(const float* p, size_t i) { return p[i]; }
template <>
__device__ float load<__nv_bfloat16>(const __nv_bfloat16* p, size_t i) { return __bfloat162float(p[i]); }
template <typename T>
__device__ T store(float v);
template <>
__device__ float store<float>(float v) { return v; }
template <>
__device__ __nv_bfloat16 store<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

// out[i] = sum over ranks of in_q[offset + i], in rank order (identical on every rank).
template <typename T>
__global__ void reduce_kernel(Inputs in, int n, size_t offset, size_t count, T* out) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += size_t(gridDim.x) * blockDim.x) {
    float acc = 0;
    for (int q = 0; q < n; ++q) acc += load(static_cast<const T*>(in.p[q]), offset + i);
    out[i] = store<T>(acc);
  }
}

unsigned grid_for(size_t n) { return unsigned(std::min<size_t>((n + 255) / 256 + 1, 4096)); }

}  // namespace

struct DeviceLocalCommunicator::Scratch {
  void* ptr = nullptr;
  size_t bytes = 0;
  cudaEvent_t ready = nullptr, done = nullptr;
  ~Scratch() {
    if (ptr) cudaFree(ptr);
    if (ready) cudaEventDestroy(ready);
    if (done) cudaEventDestroy(done);
  }
  void* reserve(size_t b) {
    if (b > bytes) {
      if (ptr) TPBENCH_CUDA_CHECK(cudaFree(ptr));
      ptr = nullptr;
      TPBENCH_CUDA_CHECK(cudaMalloc(&ptr, b));
      bytes = b;
    }
    return ptr;
  }
};

DeviceLocalCommunicator::DeviceLocalCommunicator(std::shared_ptr<detail::DeviceLocalState> state, int rank)
    : state_(std::move(state)), rank_(rank), scratch_(std::make_unique<Scratch>()) {
  TPBENCH_CUDA_CHECK(cudaEventCreateWithFlags(&scratch_->ready, cudaEventDisableTiming));
  TPBENCH_CUDA_CHECK(cudaEventCreateWithFlags(&scratch_->done, cudaEventDisableTiming));
  state_->ready[rank] = scratch_->ready;
  state_->done[rank] = scratch_->done;
}

DeviceLocalCommunicator::~DeviceLocalCommunicator() = default;

int DeviceLocalCommunicator::size() const { return state_->n; }

void DeviceLocalCommunicator::abort() { state_->barrier.breakdown(); }

void DeviceLocalCommunicator::collective(CollectiveKind kind, const void* send, void* recv, size_t count, ElemType t,
                                         void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  const CollectiveTraits& traits = collective_traits(kind);
  const int n = state_->n;
  const size_t es = elem_size(t);
  const size_t out_count = traits.output_elems(count, n);
  // The elements of every input that make up this rank's result (CollectiveTraits).
  const size_t from = traits.source_offset(count, rank_);
  void* tmp = scratch_->reserve(std::max<size_t>(out_count * es, 1));
  TPBENCH_CUDA_CHECK(cudaEventRecord(scratch_->ready, s));
  state_->send[rank_] = send;
  state_->rendezvous();
  for (int q = 0; q < n; ++q) TPBENCH_CUDA_CHECK(cudaStreamWaitEvent(s, state_->ready[q], 0));
  if (!traits.reduces) {  // part q of the output comes from rank q's input
    for (int q = 0; q < n; ++q)
      TPBENCH_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(tmp) + q * count * es,
                                         static_cast<const char*>(state_->send[q]) + from * es, count * es,
                                         cudaMemcpyDeviceToDevice, s));
  } else {
    Inputs in{};
    for (int q = 0; q < n; ++q) in.p[q] = state_->send[q];
    if (t == ElemType::F32)
      reduce_kernel<float><<<grid_for(count), 256, 0, s>>>(in, n, from, count, static_cast<float*>(tmp));
    else
      reduce_kernel<__nv_bfloat16><<<grid_for(count), 256, 0, s>>>(in, n, from, count,
                                                                   static_cast<__nv_bfloat16*>(tmp));
    TPBENCH_CUDA_CHECK_LAUNCH();
  }
  TPBENCH_CUDA_CHECK(cudaEventRecord(scratch_->done, s));
  state_->rendezvous();
  for (int q = 0; q < n; ++q) TPBENCH_CUDA_CHECK(cudaStreamWaitEvent(s, state_->done[q], 0));
  TPBENCH_CUDA_CHECK(cudaMemcpyAsync(recv, tmp, out_count * es, cudaMemcpyDeviceToDevice, s));
}

void DeviceLocalCommunicator::all_reduce(const void* send, void* recv, size_t count, ElemType t, void* stream) {
  collective(CollectiveKind::AllReduce, send, recv, count, t, stream);
}
void DeviceLocalCommunicator::all_gather(const void* send, void* recv, size_t send_count, ElemType t, void* stream) {
  collective(CollectiveKind::AllGather, send, recv, send_count, t, stream);
}
void DeviceLocalCommunicator::reduce_scatter(const void* send, void* recv, size_t recv_count, ElemType t,
                                             void* stream) {
  collective(CollectiveKind::ReduceScatter, send, recv, recv_count, t, stream);
}
void DeviceLocalCommunicator::all_to_all(const void* send, void* recv, size_t count, ElemType t, void* stream) {
  if (buffers_overlap(send, recv, count * size_t(state_->n) * elem_size(t))) {
    state_->barrier.breakdown();  // the peers must not wait for this rank at the rendezvous
    throw std::invalid_argument("all_to_all: send and recv buffers overlap (all_to_all has no in-place form)");
  }
  collective(CollectiveKind::AllToAll, send, recv, count, t, stream);
}

std::vector<std::unique_ptr<Communicator>> make_device_local_group(int n, double timeout_s) {
  if (n < 1 || n > kMaxLocalRanks)
    throw std::invalid_argument("device-local group: 1.." + std::to_string(kMaxLocalRanks) + " ranks");
  auto state = std::make_shared<detail::DeviceLocalState>(n, timeout_s);
  std::vector<std::unique_ptr<Communicator>> out;
  for (int r = 0; r < n; ++r) out.push_back(std::make_unique<DeviceLocalCommunicator>(state, r));
  return out;
}

}  // namespace tpbench
