#pragma once
// One rank of the CUDA backend: its device buffers, streams, events, cuBLASLt runner and the
// captured graphs of its step (per variant: prologue, layers and LM head as three graphs, so
// they are timed apart). Driven by one host thread.
#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "collectives/communicator.hpp"
#include "harness/backend/backend.hpp"
#include "harness/backend/cuda/attention_runner.hpp"
#include "harness/backend/cuda/device_resources.hpp"
#include "harness/backend/cuda/fp8_gemm_runner.hpp"
#include "harness/backend/cuda/moe_runner.hpp"
#include "harness/backend/cuda/op_launch.hpp"
#include "harness/backend/fp8_gemm_plan.hpp"
#include "harness/backend/cuda/gemm_runner.hpp"
#include "harness/backend/step_execution.hpp"
#include "harness/backend/stream_schedule.hpp"
#include "kernels/l2_flush.cuh"

namespace tpbench::cuda {

// How a collective op is carried out on this rank.
struct CollectiveExec {
  Communicator* comm = nullptr;                    // real: NCCL or the device-local group
  std::function<double(const Op&)> emulated_time;  // --emulate-tp: spin seconds (profile time less the overshoot)
  // Real multi-GPU runs: a one-element all-reduce right before the first timing event, so
  // every rank's step starts when the last rank is ready (host launch skew is not timed).
  bool barrier_before_step = false;
};

class CudaRank {
 public:
  CudaRank(const StepProgram& p, int rank, int device, CollectiveExec coll);
  ~CudaRank();
  CudaRank(const CudaRank&) = delete;
  CudaRank& operator=(const CudaRank&) = delete;

  // Allocates and fills every buffer on the device, then chooses the kernels per shape (skinny
  // GEMM or cuBLASLt, the attention kernel) by timing them on the still idle device (synchronous).
  // `tune_lock` is held around the timing: ranks that share a GPU must not time side by side.
  void prepare(std::mutex& tune_lock);
  // The kernels chosen in prepare() (Backend::kernel_choices).
  nlohmann::json kernel_choices() const;
  // One step; graphs are captured on first use of a variant (after one eager warm-up run).
  // Throws once drop_graphs() has run (the step was abandoned after a peer's failure).
  // Returns the sections' seconds measured with events on the compute stream.
  StepTime run(Variant v, bool use_graphs);
  // Eager run, ops serialised on the compute stream with an event after each, enqueued in chunks
  // behind launch holds (harness/backend/op_profile_plan.hpp): rank-local seconds per op.
  std::vector<double> profile_ops();
  // Destroys the captured graphs and refuses to capture more; callable from any thread, also
  // while this rank's thread is inside run() (a graph in flight is freed when it finishes).
  // A failing peer calls it before aborting the communicators: since NCCL 2.26 an abort waits
  // until the graphs that captured the communicator are gone. Never throws.
  void drop_graphs() noexcept;
  // Frees the rank's device memory once its streams are idle, waiting at most `drain`; past
  // that (a kernel that never ends, after an abort that failed) the memory is given up, not
  // freed, and false is returned: freeing would wait for the device and hang. Drops the graphs
  // first. Idempotent (the destructor calls it with kTeardownDrain); never throws.
  bool release_device(std::chrono::milliseconds drain) noexcept;
  static constexpr std::chrono::milliseconds kTeardownDrain{10000};
  // The output buffer as FP32.
  std::vector<float> output() const;
  int device() const { return device_; }
  int rank() const { return rank_; }

 private:
  void enqueue_section(Variant v, int begin, int end);
  // One eager run of variant v (then *warmed_up is set), then its three sections captured.
  void capture(Variant v, bool* warmed_up);
  // capture(), or eager execution of v from now on when only the capture failed.
  void capture_or_fall_back(Variant v);
  void enqueue_op(const Op& op, cudaStream_t s);
  // Allocates and fills buffer i at its storage type (FP8 weights transposed, fp8_gemm_plan.hpp).
  void allocate_buffer(int i, cudaStream_t s);
  // The FP8 GEMMs' runner, input staging and scales (nothing without FP8 weights).
  void prepare_fp8_gemms(cudaStream_t s);

  const StepProgram& program_;
  const RankProgram& r_;
  int rank_, device_;
  CollectiveExec coll_;
  StreamSchedule schedule_;
  std::vector<int> event_op_;  // event id -> op that records it
  std::vector<DeviceBuffer> memory_;
  std::vector<__nv_bfloat16*> pointers_;
  std::unique_ptr<Stream> compute_, comm_;
  std::vector<std::unique_ptr<Event>> events_;
  std::unique_ptr<Event> fork_, join_;
  std::array<std::unique_ptr<Event>, 4> marks_;  // section boundaries of a timed step
  std::unique_ptr<GemmRunner> gemm_;
  std::unique_ptr<AttentionRunner> attention_;
  Fp8GemmPlan fp8_plan_;
  std::unique_ptr<Fp8GemmRunner> fp8_gemm_;
  DeviceBuffer fp8_input_, fp8_scales_;
  Fp8GemmContext fp8_ctx_;
  std::unique_ptr<MoeRunner> moe_;  // the MoE ops' row maps and grouped GEMMs (none without MoE ops)
  DeviceBuffer barrier_;
  // When the weights and KV the step reads would fit in L2, every timed step starts from a
  // flushed L2 (outside the timed events) so that bytes come from HBM, as they do at scale.
  std::unique_ptr<kernels::L2Flush> l2_flush_;
  bool flush_before_step_ = false;
  std::mutex graphs_mu_;  // guards graphs_ and graphs_dropped_ (drop_graphs comes from other threads)
  bool graphs_dropped_ = false;
  std::map<Variant, std::array<GraphExec, 3>> graphs_;  // prologue, layers, head
  StepExecution execution_;  // per variant: captured, or eager and why
  std::optional<double> profile_overshoot_s_;  // profile_ops: an empty event interval (subtracted)
  bool released_ = false, leaked_ = false;
};

}  // namespace tpbench::cuda
