#include "harness/backend/cuda/cuda_rank.hpp"

#include <cuda_bf16.h>

#include <algorithm>

#include "kernels/hold_stream.cuh"
#include "harness/backend/cuda/init_kernels.cuh"
#include "harness/backend/cuda/op_launch.hpp"
#include "harness/backend/device_memory_plan.hpp"

namespace tpbench::cuda {
namespace {

// GPU-side holds in front of timed intervals (kernels::hold_stream): long enough for the host to
// enqueue what follows. Three graph launches and four event records take tens of microseconds;
// an eager op with its event record or waits about 5-8 us.
constexpr double kGraphLaunchHoldS = 100e-6;
double eager_hold_s(size_t ops) { return std::min(100e-6 + 8e-6 * double(ops), 20e-3); }

}  // namespace

CudaRank::CudaRank(const StepProgram& p, int rank, int device, CollectiveExec coll)
    : program_(p), r_(p.ranks.at(rank)), rank_(rank), device_(device), coll_(std::move(coll)) {
  schedule_ = schedule_streams(r_);
  event_op_.assign(schedule_.events, -1);
  for (size_t i = 0; i < r_.ops.size(); ++i)
    if (schedule_.record_after[i] >= 0) event_op_[schedule_.record_after[i]] = int(i);
}

CudaRank::~CudaRank() {
  // The members (streams, events, memory, graphs) are released on this rank's device, after this
  // body: make it current and leave it so (a destructor must not throw, so no DeviceScope).
  cudaSetDevice(device_);
  // Make sure nothing still runs on buffers about to be freed.
  if (compute_) cudaStreamSynchronize(compute_->get());
  if (comm_) cudaStreamSynchronize(comm_->get());
}

void CudaRank::prepare() {
  DeviceScope scope(device_);
  compute_ = std::make_unique<Stream>();
  comm_ = std::make_unique<Stream>();
  for (int e = 0; e < schedule_.events; ++e) events_.push_back(std::make_unique<Event>(false));
  fork_ = std::make_unique<Event>(false);
  join_ = std::make_unique<Event>(false);
  for (auto& m : marks_) m = std::make_unique<Event>(true);
  gemm_ = std::make_unique<GemmRunner>(size_t(kGemmWorkspaceBytes));
  attention_ws_ = DeviceBuffer(attention_workspace_bytes(r_));
  barrier_ = DeviceBuffer(256);
  TPBENCH_CUDA_CHECK(cudaMemsetAsync(barrier_.get(), 0, 256, compute_->get()));
  gemm_->reserve_skinny_workspace(r_, compute_->get());
  memory_.clear();
  pointers_.clear();
  for (size_t i = 0; i < r_.buffers.size(); ++i) {
    // 256-byte aligned by cudaMalloc: every view offset that is a multiple of 8 elements stays
    // 16-byte aligned, which the vectorised kernels rely on.
    memory_.emplace_back(size_t(std::max<int64_t>(r_.buffers[i].elements, 1)) * sizeof(__nv_bfloat16));
    pointers_.push_back(memory_.back().get<__nv_bfloat16>());
    init_buffer(program_.model, r_, int(i), program_.config.seed, pointers_.back(), compute_->get());
  }
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(compute_->get()));
  const MemoryFootprint f = footprint(r_, sizeof(__nv_bfloat16));
  int l2 = 0;
  TPBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device_));
  // Always there for the GEMM autotune; before each timed step only when the rank's bytes are
  // small enough that the L2 would otherwise serve a good part of them.
  l2_flush_ = std::make_unique<kernels::L2Flush>();
  gemm_->set_autotune_flush(l2_flush_.get());
  flush_before_step_ = f.weight_bytes + f.kv_bytes < 4 * int64_t(l2);
}

void CudaRank::enqueue_op(const Op& op, cudaStream_t s) {
  if (op.kind != OpKind::Collective) {
    OpContext ctx{&pointers_, gemm_.get(), attention_ws_.get(), attention_ws_.bytes()};
    launch_compute_op(op, ctx, s);
    return;
  }
  if (coll_.emulated_time) {
    TPBENCH_CUDA_CHECK(kernels::hold_stream(coll_.emulated_time(op), s));
    return;
  }
  const __nv_bfloat16* in = pointers_[op.a.buffer] + op.a.offset;
  __nv_bfloat16* out = pointers_[op.out.buffer] + op.out.offset;
  const size_t in_count = size_t(op.a.rows * op.a.cols), out_count = size_t(op.out.rows * op.out.cols);
  if (op.group_size == 1) {  // a group of one: the collective is a copy (weight-gather at TP=1)
    if (in != out)
      TPBENCH_CUDA_CHECK(cudaMemcpyAsync(out, in, out_count * sizeof(__nv_bfloat16), cudaMemcpyDeviceToDevice, s));
    return;
  }
  coll_.comm->run(op.collective, in, out, op.collective == CollectiveKind::ReduceScatter ? out_count : in_count,
                   ElemType::BF16, s);
}

// Enqueues ops [begin, end) on the two streams. The communication stream forks from the
// compute stream first and joins it at the end (stream capture requires every forked stream to
// rejoin); events recorded in an earlier section are complete by then and are not waited on.
void CudaRank::enqueue_section(Variant v, int begin, int end) {
  cudaStream_t cs = compute_->get(), ms = comm_->get();
  const bool two = schedule_.uses_comm_stream;
  if (two) {
    TPBENCH_CUDA_CHECK(cudaEventRecord(fork_->get(), cs));
    TPBENCH_CUDA_CHECK(cudaStreamWaitEvent(ms, fork_->get(), 0));
  }
  for (int i = begin; i < end; ++i) {
    const Op& op = r_.ops[i];
    cudaStream_t s = op.stream == StreamId::Comm && two ? ms : cs;
    for (int e : schedule_.wait_before[i])
      if (event_op_[e] >= begin) TPBENCH_CUDA_CHECK(cudaStreamWaitEvent(s, events_[e]->get(), 0));
    if (!skipped(op, v)) enqueue_op(op, s);
    if (schedule_.record_after[i] >= 0) TPBENCH_CUDA_CHECK(cudaEventRecord(events_[schedule_.record_after[i]]->get(), s));
  }
  if (two) {
    TPBENCH_CUDA_CHECK(cudaEventRecord(join_->get(), ms));
    TPBENCH_CUDA_CHECK(cudaStreamWaitEvent(cs, join_->get(), 0));
  }
}

StepTime CudaRank::run(Variant v, bool use_graphs) {
  DeviceScope scope(device_);
  cudaStream_t cs = compute_->get();
  const int bounds[4] = {0, r_.layers_begin, r_.head_begin, int(r_.ops.size())};
  if (use_graphs && graphs_.find(v) == graphs_.end()) {
    // One eager run first: cuBLASLt picks its algorithms, the skinny GEMM its shapes and NCCL
    // sets up its connections outside of capture.
    for (int k = 0; k < 3; ++k) enqueue_section(v, bounds[k], bounds[k + 1]);
    TPBENCH_CUDA_CHECK(cudaStreamSynchronize(cs));
    std::array<GraphExec, 3> g;
    for (int k = 0; k < 3; ++k) {
      CaptureGuard capture(cs, comm_->get(), join_->get());
      enqueue_section(v, bounds[k], bounds[k + 1]);
      g[k] = capture.finish();
    }
    graphs_.emplace(v, std::move(g));
  }
  if (flush_before_step_) l2_flush_->flush(cs);
  if (coll_.barrier_before_step)
    coll_.comm->all_reduce(barrier_.get(), barrier_.get(), 1, ElemType::BF16, cs);
  // (Eager steps, the device-local verification mode, are not timed for results.)
  TPBENCH_CUDA_CHECK(kernels::hold_stream(kGraphLaunchHoldS, cs));
  TPBENCH_CUDA_CHECK(cudaEventRecord(marks_[0]->get(), cs));
  for (int k = 0; k < 3; ++k) {
    if (use_graphs) graphs_.at(v)[k].launch(cs);
    else enqueue_section(v, bounds[k], bounds[k + 1]);
    TPBENCH_CUDA_CHECK(cudaEventRecord(marks_[k + 1]->get(), cs));
  }
  TPBENCH_CUDA_CHECK(cudaEventSynchronize(marks_[3]->get()));
  float ms[3] = {0, 0, 0};
  for (int k = 0; k < 3; ++k) TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms[k], marks_[k]->get(), marks_[k + 1]->get()));
  return StepTime{ms[0] * 1e-3, ms[1] * 1e-3, ms[2] * 1e-3};
}

std::vector<double> CudaRank::profile_ops() {
  DeviceScope scope(device_);
  // Serialised on the compute stream so each op's events bracket it alone.
  cudaStream_t cs = compute_->get();
  std::vector<std::unique_ptr<Event>> marks;
  for (size_t i = 0; i <= r_.ops.size(); ++i) marks.push_back(std::make_unique<Event>(true));
  // Decode ops of a few microseconds run faster than the host launches them: without the hold
  // each op's interval would include the wait for its own launch. (Past CUDA's pending-launch
  // queue, about a thousand entries, the host blocks and late ops may again see gaps.)
  TPBENCH_CUDA_CHECK(kernels::hold_stream(eager_hold_s(r_.ops.size()), cs));
  TPBENCH_CUDA_CHECK(cudaEventRecord(marks[0]->get(), cs));
  for (size_t i = 0; i < r_.ops.size(); ++i) {
    enqueue_op(r_.ops[i], cs);
    TPBENCH_CUDA_CHECK(cudaEventRecord(marks[i + 1]->get(), cs));
  }
  TPBENCH_CUDA_CHECK(cudaEventSynchronize(marks.back()->get()));
  std::vector<double> out(r_.ops.size());
  for (size_t i = 0; i < r_.ops.size(); ++i) {
    float ms = 0;
    TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, marks[i]->get(), marks[i + 1]->get()));
    out[i] = ms * 1e-3;
  }
  return out;
}

std::vector<float> CudaRank::output() const {
  DeviceScope scope(device_);
  const Buffer& b = r_.buffers[r_.output.buffer];
  std::vector<__nv_bfloat16> raw(size_t(b.elements));
  TPBENCH_CUDA_CHECK(cudaMemcpy(raw.data(), pointers_[r_.output.buffer], raw.size() * sizeof(__nv_bfloat16),
                                cudaMemcpyDeviceToHost));
  std::vector<float> out(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) out[i] = __bfloat162float(raw[i]);
  return out;
}

}  // namespace tpbench::cuda
