// The collective driver: see collective_driver.hpp.
#include "collectives/collective_driver.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <string>

#include "collectives/inprocess_communicator.hpp"
#include "harness/common/error.hpp"

namespace tpbench {

size_t collective_input_elems(CollectiveKind op, int ranks, size_t count) {
  return collective_traits(op).input_elems(count, ranks);
}

size_t collective_output_elems(CollectiveKind op, int ranks, size_t count) {
  return collective_traits(op).output_elems(count, ranks);
}

size_t collective_expected_elems(CollectiveKind op, int ranks, size_t count) {
  const CollectiveTraits& t = collective_traits(op);
  return t.output_elems(count, ranks) * (t.input_has_rank_parts ? static_cast<size_t>(ranks) : 1);
}

std::vector<float> collective_expected(CollectiveKind op, int ranks, size_t count, uint64_t seed) {
  const CollectiveTraits& t = collective_traits(op);
  const size_t n = static_cast<size_t>(ranks), out_elems = t.output_elems(count, ranks);
  // Every rank holds the same result unless each takes its own part of the inputs.
  const int distinct_results = t.input_has_rank_parts ? ranks : 1;
  std::vector<float> e(collective_expected_elems(op, ranks, count));
  for (int q = 0; q < distinct_results; ++q) {
    float* result = e.data() + static_cast<size_t>(q) * out_elems;
    const size_t from = t.source_offset(count, q);
    if (t.reduces) {
      for (size_t i = 0; i < count; ++i) {
        int64_t sum = 0;  // integers: exact, and independent of any float summation order
        for (int r = 0; r < ranks; ++r) sum += static_cast<int64_t>(collective_input(seed, r, from + i));
        result[i] = static_cast<float>(sum);
      }
    } else {  // output part r is rank r's piece, in rank order
      for (size_t r = 0; r < n; ++r)
        for (size_t i = 0; i < count; ++i)
          result[r * count + i] = collective_input(seed, static_cast<int>(r), from + i);
    }
  }
  return e;
}

int64_t collective_wrong(CollectiveKind op, int rank, int ranks, size_t count,
                         const std::vector<float>& expected, const float* output) {
  const CollectiveTraits& t = collective_traits(op);
  const size_t elems = t.output_elems(count, ranks);
  // Ranks that take their own part of the inputs hold their own result, at their rank's place.
  const size_t offset = t.input_has_rank_parts ? static_cast<size_t>(rank) * elems : 0;
  if (expected.size() < offset + elems)
    throw std::invalid_argument("collective_wrong: the expected values do not cover rank " + std::to_string(rank));
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
      wrong[static_cast<size_t>(rank)] = collective_wrong(req.op, rank, req.ranks, count, expected, out.data());
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
