#include "harness/backend/backend.hpp"
#include "harness/backend/cpu_backend.hpp"
#include "harness/common/error.hpp"
#ifdef TPBENCH_HAVE_CUDA
#include "harness/backend/cuda_backend_factory.hpp"
#endif

namespace tpbench {

std::unique_ptr<Backend> make_backend(const BackendOptions& o) {
  if (o.kind == "auto") {
    // The GPUs when this build and this machine have them, the CPU otherwise.
#ifdef TPBENCH_HAVE_CUDA
    try {
      return make_cuda_backend(o);
    } catch (const UnavailableError&) {
    }
#endif
    if (o.emulate_tp > 0) throw UnavailableError("--emulate-tp needs a usable CUDA device");
    BackendOptions cpu = o;
    cpu.kind = "cpu";
    return make_cpu_backend(cpu);
  }
  if (o.kind == "cpu") return make_cpu_backend(o);
  if (o.kind == "cuda") {
#ifdef TPBENCH_HAVE_CUDA
    return make_cuda_backend(o);  // throws UnavailableError without a usable device
#else
    throw UnavailableError("--backend cuda: this tpbench was built without CUDA (configure with nvcc on PATH)");
#endif
  }
  throw UsageError("unknown backend '" + o.kind + "' (expected auto, cpu or cuda)");
}

std::unique_ptr<Backend> make_verification_backend(const BackendOptions& o) {
  if (o.kind == "cuda" || o.kind == "auto") {
#ifdef TPBENCH_HAVE_CUDA
    return make_cuda_verification_backend(o);
#endif
  }
  return make_backend(o);
}

}  // namespace tpbench
