#pragma once
// RAII owners for the CUDA handles the backend uses (on top of kernels/detail/cuda_raii.hpp).
// Destructors never throw (errors at teardown are ignored: nothing useful is left to do).
#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "kernels/detail/cuda_check.hpp"
#include "kernels/detail/cuda_raii.hpp"

namespace tpbench::cuda {

// Makes `device` current for the scope and restores the previous device after.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    TPBENCH_CUDA_CHECK(cudaGetDevice(&previous_));
    TPBENCH_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceScope() { cudaSetDevice(previous_); }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0;
};

// Device memory, streams and events: the kernels' RAII owners, under the backend's names.
using DeviceBuffer = cuda_detail::DeviceBuffer;
using Stream = cuda_detail::CudaStream;
using Event = cuda_detail::CudaEvent;

class GraphExec {
 public:
  GraphExec() = default;
  // Ends the capture on `s` and instantiates the graph.
  static GraphExec from_capture(cudaStream_t s) {
    cudaGraph_t g = nullptr;
    TPBENCH_CUDA_CHECK(cudaStreamEndCapture(s, &g));
    GraphExec e;
    const cudaError_t err = cudaGraphInstantiate(&e.exec_, g, 0);
    cudaGraphDestroy(g);
    TPBENCH_CUDA_CHECK(err);
    // Upload now, so that the first timed replay does not carry the upload.
    TPBENCH_CUDA_CHECK(cudaGraphUpload(e.exec_, s));
    return e;
  }
  ~GraphExec() { if (exec_) cudaGraphExecDestroy(exec_); }
  GraphExec(GraphExec&& o) noexcept : exec_(std::exchange(o.exec_, nullptr)) {}
  GraphExec& operator=(GraphExec&& o) noexcept {
    if (this != &o) {
      if (exec_) cudaGraphExecDestroy(exec_);
      exec_ = std::exchange(o.exec_, nullptr);
    }
    return *this;
  }
  void launch(cudaStream_t s) const { TPBENCH_CUDA_CHECK(cudaGraphLaunch(exec_, s)); }
  bool valid() const { return exec_ != nullptr; }

 private:
  cudaGraphExec_t exec_ = nullptr;
};

// Stream capture as a scope: finish() ends it and instantiates the graph; leaving the scope
// without finish() (an exception while enqueueing) ends and discards the capture, so the stream
// is usable (and destructible) again. `forked`/`join`: a second stream that may have been forked
// into the capture, and an event to join it with; an abandoned capture joins it back first, since
// ending a capture with a forked stream still in it fails and can leave that stream capturing.
class CaptureGuard {
 public:
  explicit CaptureGuard(cudaStream_t s, cudaStream_t forked = nullptr, cudaEvent_t join = nullptr)
      : s_(s), forked_(forked), join_(join) {
    TPBENCH_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  }
  ~CaptureGuard() {
    if (done_) return;
    cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    if (forked_ && join_ && cudaStreamIsCapturing(forked_, &st) == cudaSuccess &&
        st != cudaStreamCaptureStatusNone && cudaEventRecord(join_, forked_) == cudaSuccess)
      cudaStreamWaitEvent(s_, join_, 0);
    cudaGraph_t g = nullptr;
    if (cudaStreamEndCapture(s_, &g) == cudaSuccess && g) cudaGraphDestroy(g);
    cudaGetLastError();  // an invalidated capture reports an error here: nothing left to do
  }
  CaptureGuard(const CaptureGuard&) = delete;
  CaptureGuard& operator=(const CaptureGuard&) = delete;
  GraphExec finish() {
    done_ = true;
    return GraphExec::from_capture(s_);
  }

 private:
  cudaStream_t s_, forked_;
  cudaEvent_t join_;
  bool done_ = false;
};

}  // namespace tpbench::cuda
