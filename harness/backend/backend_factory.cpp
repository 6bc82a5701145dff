#include "harness/backend/backend.hpp"
#include "harness/backend/cpu_backend.hpp"
#include "harness/common/error.hpp"
#ifdef TPBENCH_HAVE_CUDA
#include "harness/backend/cuda_backend_factory.hpp"
#endif

namespace tpbench {

std::unique_ptr<Backend> make_backend(const BackendOptions& o) {
  if (o.kind == "cpu") return make_cpu_backend(o);
  if (o.kind == "cuda") {
#ifdef TPBENCH_HAVE_CUDA
    return make_cuda_backend(o);  // throws UnavailableError without a usable device
#else
    throw UnavailableError("--backend cuda: this tpbench was built without CUDA (configure with nvcc on PATH)");
#endif
  }
  throw UsageError("unknown backend '" + o.kind + "' (expected cpu or cuda)");
}

std::unique_ptr<Backend> make_verification_backend(const BackendOptions& o) {
  if (o.kind == "cuda") {
#ifdef TPBENCH_HAVE_CUDA
    return make_cuda_verification_backend(o);
#endif
  }
  return make_backend(o);
}

}  // namespace tpbench
