#include "harness/backend/backend.hpp"
#include "harness/backend/cpu_backend.hpp"
#include "harness/common/enum_names.hpp"
#include "harness/common/error.hpp"
#ifdef TPBENCH_HAVE_CUDA
#include "harness/backend/cuda_backend_factory.hpp"
#endif

namespace tpbench {

const char* backend_kind_name(BackendKind k) {
  switch (k) {
    case BackendKind::Auto: return "auto";
    case BackendKind::Cpu: return "cpu";
    case BackendKind::Cuda: return "cuda";
  }
  return "?";
}

BackendKind parse_backend_kind(const std::string& s) {
  return parse_enum_name(s, kAllBackendKinds, backend_kind_name, "backend");
}

std::unique_ptr<Backend> make_backend(const BackendOptions& o) {
  switch (o.kind) {
    case BackendKind::Auto: {
      // The GPUs when this build and this machine have them, the CPU otherwise.
#ifdef TPBENCH_HAVE_CUDA
      try {
        return make_cuda_backend(o);
      } catch (const UnavailableError&) {
      }
#endif
      if (o.emulate_tp > 0) throw UnavailableError("--emulate-tp needs a usable CUDA device");
      BackendOptions cpu = o;
      cpu.kind = BackendKind::Cpu;
      return make_cpu_backend(cpu);
    }
    case BackendKind::Cpu: return make_cpu_backend(o);
    case BackendKind::Cuda:
#ifdef TPBENCH_HAVE_CUDA
      return make_cuda_backend(o);  // throws UnavailableError without a usable device
#else
      throw UnavailableError("--backend cuda: this tpbench was built without CUDA (configure with nvcc on PATH)");
#endif
  }
  throw UsageError(std::string("unknown backend '") + backend_kind_name(o.kind) + "'");
}

std::unique_ptr<Backend> make_verification_backend(const BackendOptions& o) {
  if (o.kind == BackendKind::Cuda || o.kind == BackendKind::Auto) {
#ifdef TPBENCH_HAVE_CUDA
    return make_cuda_verification_backend(o);
#endif
  }
  return make_backend(o);
}

}  // namespace tpbench
