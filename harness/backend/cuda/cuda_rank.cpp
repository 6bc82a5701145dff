#include "harness/backend/cuda/cuda_rank.hpp"

#include <cuda_bf16.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "kernels/hold_stream.cuh"
#include "harness/backend/cuda/init_kernels.cuh"
#include "harness/backend/cuda/op_launch.hpp"
#include "harness/backend/device_memory_plan.hpp"
#include "harness/backend/kernel_tuning.hpp"
#include "harness/backend/op_profile_plan.hpp"
#include "harness/backend/rank_threads.hpp"
#include "harness/measure/stats.hpp"

namespace tpbench::cuda {
namespace {

// GPU-side hold in front of a timed step (kernels::hold_stream): long enough for the host to
// enqueue what follows. Three graph launches and four event records take tens of microseconds.
constexpr double kGraphLaunchHoldS = 100e-6;

}  // namespace

CudaRank::CudaRank(const StepProgram& p, int rank, int device, CollectiveExec coll)
    : program_(p), r_(p.ranks.at(rank)), rank_(rank), device_(device), coll_(std::move(coll)) {
  schedule_ = schedule_streams(r_);
  event_op_.assign(schedule_.events, -1);
  for (size_t i = 0; i < r_.ops.size(); ++i)
    if (schedule_.record_after[i] >= 0) event_op_[schedule_.record_after[i]] = int(i);
}

CudaRank::~CudaRank() {
  release_device(kTeardownDrain);
  cudaSetDevice(device_);  // the members (streams, events, runners) are released on it after this body
}

namespace {
bool stream_done(const std::unique_ptr<Stream>& s) {
  // An error other than "not ready" means the context is broken: nothing will run any more.
  return !s || cudaStreamQuery(s->get()) != cudaErrorNotReady;
}
}  // namespace

bool CudaRank::release_device(std::chrono::milliseconds drain) noexcept {
  if (released_) return !leaked_;
  released_ = true;
  // The members are released on this rank's device: make it current and leave it so (this runs
  // in the destructor, which must not throw, so no DeviceScope).
  cudaSetDevice(device_);
  drop_graphs();
  // Nothing may still run on buffers about to be freed; but after an abort that failed a
  // collective kernel can spin for ever, and waiting for it (or freeing memory, which waits for
  // the device) would hang the process. Past `drain` the device memory is given up instead.
  if (wait_until([this] { return stream_done(compute_) && stream_done(comm_); }, drain)) {
    moe_.reset();
    memory_.clear();
    return true;
  }
  std::fprintf(stderr,
               "tpbench: warning: rank %d: GPU %d still runs this rank's work %lld ms after the step ended "
               "(an abort that failed?); its device memory is left allocated\n",
               rank_, device_, (long long)drain.count());
  for (DeviceBuffer& b : memory_) (void)b.release();
  (void)barrier_.release();
  if (moe_) moe_->leak();
  (void)moe_.release();
  (void)l2_flush_.release();  // the flush buffer, the GEMM and attention runners' workspaces: left as they are
  (void)gemm_.release();
  (void)attention_.release();
  leaked_ = true;
  return false;
}

void CudaRank::prepare(std::mutex& tune_lock) {
  DeviceScope scope(device_);
  compute_ = std::make_unique<Stream>();
  comm_ = std::make_unique<Stream>();
  for (int e = 0; e < schedule_.events; ++e) events_.push_back(std::make_unique<Event>(false));
  fork_ = std::make_unique<Event>(false);
  join_ = std::make_unique<Event>(false);
  for (auto& m : marks_) m = std::make_unique<Event>(true);
  gemm_ = std::make_unique<GemmRunner>(size_t(kGemmWorkspaceBytes));
  attention_ = std::make_unique<AttentionRunner>();
  barrier_ = DeviceBuffer(256);
  TPBENCH_CUDA_CHECK(cudaMemsetAsync(barrier_.get(), 0, 256, compute_->get()));
  gemm_->reserve_skinny_workspace(r_, compute_->get());
  memory_.clear();
  pointers_.clear();
  prepare_fp8_gemms(compute_->get());
  for (size_t i = 0; i < r_.buffers.size(); ++i) allocate_buffer(int(i), compute_->get());
  if (!r_.moe_tables.empty()) moe_ = std::make_unique<MoeRunner>(r_, pointers_, compute_->get());
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(compute_->get()));
  const MemoryFootprint f = footprint(r_);  // at each buffer's storage type
  int l2 = 0;
  TPBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device_));
  // Always there for the GEMM autotune; before each timed step only when the rank's bytes are
  // small enough that the L2 would otherwise serve a good part of them.
  l2_flush_ = std::make_unique<kernels::L2Flush>();
  gemm_->set_autotune_flush(l2_flush_.get());
  flush_before_step_ = f.weight_bytes + f.kv_bytes < 4 * int64_t(l2);
  // Before any step, with nothing else on this GPU (no collective on the communication stream,
  // no peer rank timing its own choices): the choices are timed on an idle device.
  std::lock_guard<std::mutex> lock(tune_lock);
  cudaStream_t cs = compute_->get();
  for (int i : ops_to_tune(r_).gemms) {
    const Op& op = r_.ops[i];
    gemm_->tune(pointers_[op.a.buffer] + op.a.offset, op.a.ld, pointers_[op.w.buffer] + op.w.offset, op.w.ld,
                pointers_[op.out.buffer] + op.out.offset, op.out.ld, op.a.rows, op.w.cols, op.a.cols, cs);
  }
  attention_->prepare(r_, pointers_, cs, l2_flush_.get());  // every attention op of ops_to_tune
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(cs));
}

void CudaRank::prepare_fp8_gemms(cudaStream_t s) {
  fp8_plan_ = plan_fp8_gemms(program_.model, r_);
  if (fp8_plan_.refusal) throw std::runtime_error(*fp8_plan_.refusal);  // cannot_run said so before
  if (fp8_plan_.gemms == 0) return;
  fp8_gemm_ = std::make_unique<Fp8GemmRunner>(size_t(kGemmWorkspaceBytes));
  fp8_input_ = DeviceBuffer(size_t(std::max<int64_t>(fp8_plan_.input_elements, 16)));
  const size_t scale_bytes = fp8_plan_.scales.size() * sizeof(float);
  fp8_scales_ = DeviceBuffer(scale_bytes);
  TPBENCH_CUDA_CHECK(cudaMemcpyAsync(fp8_scales_.get(), fp8_plan_.scales.data(), scale_bytes, cudaMemcpyHostToDevice, s));
  // The host vector is read by the copy until the stream gets there: it lives as long as the rank.
  fp8_ctx_.runner = fp8_gemm_.get();
  fp8_ctx_.input = fp8_input_.get<__nv_fp8_e4m3>();
  fp8_ctx_.scales = fp8_scales_.get<float>();
  fp8_ctx_.scale_index = &fp8_plan_.scale_index;
}

void CudaRank::allocate_buffer(int i, cudaStream_t s) {
  const Buffer& b = r_.buffers[size_t(i)];
  // 256-byte aligned by cudaMalloc: every view offset that is a multiple of 8 elements stays
  // 16-byte aligned, which the vectorised kernels rely on.
  memory_.emplace_back(size_t(std::max<int64_t>(b.elements, 1)) * size_t(dtype_bytes(b.dtype)));
  pointers_.push_back(memory_.back().get<__nv_bfloat16>());
  const int scale = fp8_plan_.scale_index.empty() ? -1 : fp8_plan_.scale_index[size_t(i)];
  if (scale >= 0) {
    init_fp8_weight(program_.model, r_, i, program_.config.seed, fp8_plan_.weight_cols[size_t(i)],
                    fp8_plan_.scales[size_t(scale)], memory_.back().get<__nv_fp8_e4m3>(), s);
    return;
  }
  if (b.dtype == DType::FP8E4M3 && (b.init == InitKind::KCache || b.init == InitKind::VCache)) {
    init_fp8_kv(program_.model, r_, i, program_.config.seed, memory_.back().get<__nv_fp8_e4m3>(), s);
    return;
  }
  if (b.dtype != DType::BF16)  // cannot_run refuses these programs
    throw std::runtime_error("buffer '" + b.name + "' is " + dtype_name(b.dtype) + ", which the cuda backend does not hold");
  init_buffer(program_.model, r_, i, program_.config.seed, pointers_.back(), s);
}

nlohmann::json CudaRank::kernel_choices() const {
  // "attention" is always there (the schema requires it), also for a point that failed early.
  nlohmann::json j = attention_ ? attention_->choices() : nlohmann::json{{"attention", "none"}};
  if (gemm_) {
    j["gemm_shapes"] = gemm_->cached_shapes();
    j["skinny_gemm_shapes"] = gemm_->skinny_shapes();
    if (!gemm_->tuning_errors().empty()) j["gemm_candidate_failed"] = gemm_->tuning_errors();
  }
  j.update(execution_.describe());
  if (profile_overshoot_s_) j["op_profile_event_overshoot_s"] = *profile_overshoot_s_;
  if (fp8_gemm_) j["fp8_gemm_shapes"] = fp8_gemm_->cached_shapes();
  return j;
}

void CudaRank::enqueue_op(const Op& op, cudaStream_t s) {
  if (op.kind != OpKind::Collective) {
    OpContext ctx{&pointers_, gemm_.get(), attention_.get(), fp8_gemm_ ? &fp8_ctx_ : nullptr, moe_.get()};
    launch_compute_op(op, ctx, s);
    return;
  }
  if (coll_.emulated_time) {  // launched even when the spin is 0: the stand-in costs a kernel
    TPBENCH_CUDA_CHECK(kernels::occupy_stream(coll_.emulated_time(op), s));
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
  coll_.comm->run(op.collective, in, out, collective_traits(op.collective).count_argument(in_count, coll_.comm->size()),
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

void CudaRank::capture(Variant v, bool* warmed_up) {
  cudaStream_t cs = compute_->get();
  const int bounds[4] = {0, r_.layers_begin, r_.head_begin, int(r_.ops.size())};
  // One eager run first: NCCL sets up its connections outside of capture (the kernel choices
  // were made in prepare()).
  for (int k = 0; k < 3; ++k) enqueue_section(v, bounds[k], bounds[k + 1]);
  TPBENCH_CUDA_CHECK(cudaStreamSynchronize(cs));
  *warmed_up = true;
  std::array<GraphExec, 3> g;
  for (int k = 0; k < 3; ++k) {
    CaptureGuard capture(cs, comm_->get(), join_->get());
    enqueue_section(v, bounds[k], bounds[k + 1]);
    g[k] = capture.finish();
  }
  std::lock_guard<std::mutex> lock(graphs_mu_);
  if (graphs_dropped_) throw std::runtime_error("step abandoned: another rank failed");
  graphs_.emplace(v, std::move(g));
}

// The capture's eager warm-up ran the same ops without error, so a failure inside the capture
// is the capture's (an op that cannot be captured): the variant runs eagerly from now on, and
// the point says why (StepExecution). A step abandoned meanwhile, or a stream that no longer
// completes work, is the step's failure instead.
void CudaRank::capture_or_fall_back(Variant v) {
  bool warmed_up = false;
  try {
    capture(v, &warmed_up);
    execution_.captured(v);
  } catch (const std::exception& e) {
    if (!warmed_up) throw;  // the ops themselves failed
    (void)cudaGetLastError();
    const bool usable = cudaStreamSynchronize(compute_->get()) == cudaSuccess &&
                        cudaStreamSynchronize(comm_->get()) == cudaSuccess;
    bool abandoned = false;
    {
      std::lock_guard<std::mutex> lock(graphs_mu_);
      abandoned = graphs_dropped_;
    }
    if (!execution_.fall_back(v, e.what(), abandoned, usable)) throw;
    std::fprintf(stderr, "tpbench: warning: rank %d: the %s step could not be captured as a CUDA graph (%s); it runs eagerly\n",
                 rank_, variant_name(v), e.what());
  }
}

void CudaRank::drop_graphs() noexcept {
  std::lock_guard<std::mutex> lock(graphs_mu_);
  graphs_dropped_ = true;
  int previous = 0;
  const bool restore = cudaGetDevice(&previous) == cudaSuccess;
  cudaSetDevice(device_);  // graph handles are destroyed in their own context
  graphs_.clear();
  if (restore) cudaSetDevice(previous);
}

StepTime CudaRank::run(Variant v, bool use_graphs) {
  DeviceScope scope(device_);
  cudaStream_t cs = compute_->get();
  const int bounds[4] = {0, r_.layers_begin, r_.head_begin, int(r_.ops.size())};
  if (use_graphs) {
    {
      std::lock_guard<std::mutex> lock(graphs_mu_);
      if (graphs_dropped_) throw std::runtime_error("step abandoned: another rank failed");
    }
    if (execution_.needs_capture(v)) capture_or_fall_back(v);
    use_graphs = !execution_.eager(v);
  }
  if (flush_before_step_) l2_flush_->flush(cs);
  if (coll_.barrier_before_step)
    coll_.comm->all_reduce(barrier_.get(), barrier_.get(), 1, ElemType::BF16, cs);
  // (Eager steps, the device-local verification mode, are not timed for results.)
  TPBENCH_CUDA_CHECK(kernels::hold_stream(kGraphLaunchHoldS, cs));
  TPBENCH_CUDA_CHECK(cudaEventRecord(marks_[0]->get(), cs));
  for (int k = 0; k < 3; ++k) {
    if (use_graphs) {
      // Launched under the lock so that a concurrent drop_graphs() waits for the launch call
      // (never for the GPU work), and a dropped set is never launched.
      std::lock_guard<std::mutex> lock(graphs_mu_);
      auto it = graphs_.find(v);
      if (graphs_dropped_ || it == graphs_.end()) throw std::runtime_error("step abandoned: another rank failed");
      it->second[k].launch(cs);
    } else {
      enqueue_section(v, bounds[k], bounds[k + 1]);
    }
    TPBENCH_CUDA_CHECK(cudaEventRecord(marks_[k + 1]->get(), cs));
  }
  TPBENCH_CUDA_CHECK(cudaEventSynchronize(marks_[3]->get()));
  float ms[3] = {0, 0, 0};
  for (int k = 0; k < 3; ++k) TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms[k], marks_[k]->get(), marks_[k + 1]->get()));
  return StepTime{ms[0] * 1e-3, ms[1] * 1e-3, ms[2] * 1e-3};
}

std::vector<double> CudaRank::profile_ops() {
  DeviceScope scope(device_);
  // Serialised on the compute stream so each op's events bracket it alone; enqueued in chunks
  // behind holds so that no interval contains host launch time (harness/backend/op_profile_plan.hpp).
  cudaStream_t cs = compute_->get();
  const int n = int(r_.ops.size());
  std::vector<std::unique_ptr<Event>> marks;  // marks[i]: before op i of the current chunk
  for (int i = 0; i <= n; ++i) marks.push_back(std::make_unique<Event>(true));
  std::vector<double> out(size_t(n), 0.0);
  ProfileBudget budget;
  int ran_out = 0, chunks = 0;
  for (int begin = 0; begin < n; begin += budget.max_ops, ++chunks) {
    const int end = std::min(n, begin + budget.max_ops);
    TPBENCH_CUDA_CHECK(kernels::hold_stream(profile_hold_s(end - begin, budget), cs));
    TPBENCH_CUDA_CHECK(cudaEventRecord(marks[begin]->get(), cs));
    for (int i = begin; i < end; ++i) {
      enqueue_op(r_.ops[i], cs);
      TPBENCH_CUDA_CHECK(cudaEventRecord(marks[i + 1]->get(), cs));
    }
    // The chunk's first event fires when its hold ends: fired already means the GPU may have
    // waited for the host inside the chunk.
    const cudaError_t q = cudaEventQuery(marks[begin]->get());
    if (q == cudaSuccess) {
      ++ran_out;
      budget = grown(budget);
    } else if (q != cudaErrorNotReady) {
      TPBENCH_CUDA_CHECK(q);
    }
    TPBENCH_CUDA_CHECK(cudaEventSynchronize(marks[end]->get()));
    for (int i = begin; i < end; ++i) {
      float ms = 0;
      TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, marks[i]->get(), marks[i + 1]->get()));
      out[size_t(i)] = ms * 1e-3;
    }
  }
  // The event pair's own overshoot: the same hold, then consecutive records with nothing between.
  const int empties = std::min(n, budget.max_ops);
  TPBENCH_CUDA_CHECK(kernels::hold_stream(profile_hold_s(empties, budget), cs));
  for (int i = 0; i <= empties; ++i) TPBENCH_CUDA_CHECK(cudaEventRecord(marks[i]->get(), cs));
  TPBENCH_CUDA_CHECK(cudaEventSynchronize(marks[empties]->get()));
  std::vector<double> empty_s;
  for (int i = 0; i < empties; ++i) {
    float ms = 0;
    TPBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, marks[i]->get(), marks[i + 1]->get()));
    empty_s.push_back(ms * 1e-3);
  }
  profile_overshoot_s_ = empty_s.empty() ? 0.0 : summarize(empty_s).median;
  out = without_event_overshoot(std::move(out), *profile_overshoot_s_);
  if (ran_out > 0)
    std::fprintf(stderr,
                 "tpbench: warning: rank %d: %d of %d chunks of the per-op breakdown outran their launch hold; "
                 "their op times may include host time\n",
                 rank_, ran_out, chunks);
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
