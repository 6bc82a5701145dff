// The collective driver: see collective_driver.hpp.
#include "collectives/collective_driver.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include "collectives/inprocess_communicator.hpp"
#include "harness/common/error.hpp"

namespace tpbench {

size_t collective_input_elems(CollectiveKind op, int ranks, size_t count) {
  return collective_traits(op).input_elems(count, ranks);
}

size_t collective_output_elems(CollectiveKind op, int ranks, size_t count) {
  return collective_traits(op).output_elems(count, ranks);
}

std::vector<float> collective_expected(CollectiveKind op, int ranks, size_t count, uint64_t seed) {
  const CollectiveTraits& t = collective_traits(op);
  const size_t n = static_cast<size_t>(ranks);
  std::vector<float> e;
  if (!t.reduces) {  // each rank's part, in rank order
    e.resize(n * count);
    for (size_t r = 0; r < n; ++r)
      for (size_t i = 0; i < count; ++i) e[r * count + i] = collective_input(seed, static_cast<int>(r), i);
    return e;
  }
  // A reduction sums element i of the ranks' inputs; reduce_scatter's concatenated results are
  // that sum over its (ranks * count)-element inputs.
  const size_t elems = t.input_elems(count, ranks);
  e.resize(elems);
  for (size_t i = 0; i < elems; ++i) {
    int64_t sum = 0;  // integers: exact, and independent of any float summation order
    for (int r = 0; r < ranks; ++r) sum += static_cast<int64_t>(collective_input(seed, r, i));
    e[i] = static_cast<float>(sum);
  }
  return e;
}

int64_t collective_wrong(CollectiveKind op, int rank, size_t count,
                         const std::vector<float>& expected, const float* output) {
  const CollectiveTraits& t = collective_traits(op);
  // A rank holding one part of a scattered result holds the part at its own rank's offset.
  const size_t offset = t.input_has_rank_parts ? static_cast<size_t>(rank) * count : 0;
  // The expected vector is nccl-tests' size: count elements, or one part of count per rank.
  const int ranks = static_cast<int>(expected.size() / std::max<size_t>(1, count));
  const size_t elems = t.output_elems(count, ranks);
  int64_t wrong = 0;
  for (size_t i = 0; i < elems; ++i) wrong += output[i] != expected[offset + i];  // NaN counts
  return wrong;
}

void run_collective_cpu(const CollectiveRequest& req, const CollectiveSink& sink) {
  InProcessGroup group(req.ranks);
  std::vector<int64_t> wrong(static_cast<size_t>(req.ranks), 0);
  std::vector<float> expected;  // written by rank 0, read by all after a rendezvous
  group.run([&](InProcessCommunicator& comm) {
    const int rank = comm.rank();
    for (size_t k = 0; k < req.counts.size(); ++k) {
      const size_t count = req.counts[k];
      // Allocated and written by the rank's own thread (first touch), never read unwritten.
      std::vector<float> in(collective_input_elems(req.op, req.ranks, count));
      std::vector<float> out(collective_output_elems(req.op, req.ranks, count));
      for (size_t i = 0; i < in.size(); ++i) in[i] = collective_input(req.seed, rank, i);
      if (rank == 0) expected = collective_expected(req.op, req.ranks, count, req.seed);
      auto once = [&] { comm.run(req.op, in.data(), out.data(), count, ElemType::F32); };
      for (int i = 0; i < req.warmup; ++i) once();
      comm.barrier();  // everyone starts the timed loop together
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < req.iters; ++i) once();
      comm.barrier();  // ... and rank 0 stops the clock when the slowest rank is done
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      // Checked on a fresh output, so a stale buffer from the timed loop cannot pass.
      std::fill(out.begin(), out.end(), std::numeric_limits<float>::quiet_NaN());
      once();
      wrong[static_cast<size_t>(rank)] = collective_wrong(req.op, rank, count, expected, out.data());
      comm.barrier();
      if (rank == 0) {
        CollectiveTiming t{seconds / req.iters, 0};
        for (int64_t w : wrong) t.wrong += w;
        sink(k, t);
      }
    }
  });
}

#if !defined(TPBENCH_HAVE_CUDA)
// Host-only build: the NCCL implementation (collectives/cuda/collective_driver_cuda.cpp) is
// not compiled in.
void run_collective_cuda(const CollectiveRequest&, const CollectiveSink&) {
  throw UnavailableError("--backend cuda: no usable CUDA device (this build has no CUDA support)");
}
#endif

}  // namespace tpbench
