#pragma once
// The cpu backend: virtual ranks as threads, FP32 OpenBLAS GEMMs, reference attention, the
// in-process communicator. Slow and exact: it makes every plan testable without a GPU.
// Streams are real threads: with --overlap streams|split each rank runs a compute thread and
// a communication thread that follow the program's event dependencies.
#include <memory>

#include "harness/backend/backend.hpp"

namespace tpbench {

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions& o);

}  // namespace tpbench
