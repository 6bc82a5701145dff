// NCCL communicator and placement rules. The placement and error-text tests run
// anywhere the CUDA backend is built; the collective tests need a GPU and skip without one.
#ifdef TPBENCH_HAVE_CUDA
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kernels/detail/cuda_raii.hpp"
#include "collectives/cuda/device_local_group.hpp"
#include "collectives/cuda/nccl_check.hpp"
#include "collectives/cuda/nccl_communicator.hpp"
#include "collectives/inprocess_communicator.hpp"  // CollectiveAborted
#include "collectives/collective_driver.hpp"  // collective_input / _expected / _wrong
#include "harness/common/error.hpp"

namespace tpbench {
namespace {

using namespace std::chrono_literals;

// ---- placement (no GPU needed) ----------------------------------------------------------

std::string placement_error(int ranks, int gpus, bool allow, int version, const char* env) {
  try {
    check_rank_placement(ranks, gpus, allow, version, env);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(NcclPlacement, RanksWithinGpus) {
  EXPECT_FALSE(check_rank_placement(1, 1, false, 22809, nullptr));
  EXPECT_FALSE(check_rank_placement(4, 8, false, 22809, nullptr));
  EXPECT_FALSE(check_rank_placement(8, 8, true, 22809, nullptr));
}

TEST(NcclPlacement, MoreRanksThanGpusIsRefused) {
  EXPECT_THROW(check_rank_placement(2, 1, false, 23000, "1"), UsageError);
  EXPECT_EQ(placement_error(2, 1, false, 23000, "1").rfind("2 ranks need 2 GPUs but 1 is visible", 0), 0u);
  // NCCL too old: not something a flag can fix.
  EXPECT_THROW(check_rank_placement(2, 1, true, 22809, "1"), UnavailableError);
  EXPECT_NE(placement_error(2, 1, true, 22809, "1").find("NCCL 2.28.9"), std::string::npos);
  // New enough, but the environment does not opt in.
  EXPECT_THROW(check_rank_placement(4, 2, true, 23000, nullptr), UsageError);
  EXPECT_NE(placement_error(4, 2, true, 23000, "0").find("NCCL_MULTI_RANK_GPU_ENABLE=1"), std::string::npos);
  for (const char* v : {"1", "0", ""})
    EXPECT_EQ(placement_error(3, 1, true, 23000, v).find('\n'), std::string::npos);
}

TEST(NcclPlacement, OversubscriptionAllowed) {
  EXPECT_TRUE(check_rank_placement(2, 1, true, 23000, "1"));
  EXPECT_TRUE(check_rank_placement(8, 2, true, 23104, "1"));
}

TEST(NcclPlacement, BadCounts) {
  EXPECT_THROW(check_rank_placement(0, 1, false, 22809, nullptr), UsageError);
  EXPECT_THROW(check_rank_placement(1, 0, false, 22809, nullptr), UnavailableError);
}

TEST(NcclVersion, Strings) {
  EXPECT_EQ(nccl_version_string(22809), "2.28.9");
  EXPECT_EQ(nccl_version_string(23000), "2.30.0");
  EXPECT_EQ(nccl_version_string(2804), "2.8.4");  // pre-2.9 encoding
  EXPECT_GE(nccl_version(), 20000);               // the library loads without a GPU
}

TEST(NcclErrors, RankErrorNamesRankGpuAndTheRanksOwnMessage) {
  EXPECT_EQ(format_rank_error(1, 3, "unhandled system error", "socket closed by peer"),
            "rank 1 (GPU 3): unhandled system error (socket closed by peer)");
  EXPECT_EQ(format_rank_error(0, 0, "internal error", ""), "rank 0 (GPU 0): internal error");
}

TEST(NcclCheck, NamesCallFileAndError) {
  try {
    TPBENCH_NCCL_CHECK(ncclInvalidArgument);
    FAIL() << "no throw";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("nccl_gpu_test.cpp:"), std::string::npos) << what;
    EXPECT_NE(what.find("ncclInvalidArgument failed: "), std::string::npos) << what;
    EXPECT_NE(what.find(ncclGetErrorString(ncclInvalidArgument)), std::string::npos) << what;
  }
}

// ---- collectives on the visible GPUs -------------------------------------------------------

TEST(NcclGpu, CollectiveCommandWithoutGpuIsUnavailable) {
  if (cuda_detail::cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  CollectiveRequest req;
  req.counts = {1};
  try {
    run_collective_cuda(req, [](size_t, const CollectiveTiming&) { FAIL() << "no result expected"; });
    FAIL() << "no throw";
  } catch (const UnavailableError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--backend cuda: no usable CUDA device (", 0), 0u) << e.what();
  }
}

int gpu_count() {
  if (!cuda_detail::cuda_device_available()) return 0;
  int n = 0;
  TPBENCH_CUDA_CHECK(cudaGetDeviceCount(&n));
  return n;
}

#define SKIP_WITHOUT_GPU()                                             \
  const int gpus = gpu_count();                                        \
  if (gpus == 0) GTEST_SKIP() << "no CUDA device";

// BF16 of a small integer: its float's top 16 bits (exact, no rounding needed).
uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>(u >> 16);
}
float from_bf16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Runs `op` once on a group over `devices` (one thread enqueues for every rank, inside an NCCL
// group, as NCCL requires for one thread driving several communicators) and returns the
// number of wrong elements over all ranks.
int64_t run_once(CollectiveKind op, ElemType type, const std::vector<int>& devices, size_t count, bool in_place) {
  const int n = static_cast<int>(devices.size());
  const uint64_t seed = 0x6e63636c;
  auto comms = make_nccl_group(devices);
  const size_t es = elem_size(type);
  const CollectiveTraits& traits = collective_traits(op);
  const size_t in_elems = traits.input_elems(count, n);
  const size_t out_elems = traits.output_elems(count, n);
  // In place (NCCL's layouts): the smaller buffer is the rank's own part of the larger one.
  auto own_part = [&](bool has_parts, int r) { return in_place && has_parts ? static_cast<size_t>(r) * count * es : 0; };
  struct Rank {
    std::unique_ptr<cuda_detail::CudaStream> stream;
    cuda_detail::DeviceBuffer in, out;
  };
  std::vector<Rank> ranks(devices.size());
  for (int r = 0; r < n; ++r) {
    Rank& k = ranks[static_cast<size_t>(r)];
    TPBENCH_CUDA_CHECK(cudaSetDevice(devices[static_cast<size_t>(r)]));
    k.stream = std::make_unique<cuda_detail::CudaStream>();
    // In place: one buffer, big enough for input and output (NCCL's in-place layouts).
    k.out = cuda_detail::DeviceBuffer(std::max(in_elems, out_elems) * es);
    if (!in_place) k.in = cuda_detail::DeviceBuffer(in_elems * es);
    std::vector<float> f(in_elems);
    for (size_t i = 0; i < in_elems; ++i) f[i] = collective_input(seed, r, i);
    std::vector<uint16_t> h(in_elems);
    for (size_t i = 0; i < in_elems; ++i) h[i] = to_bf16(f[i]);
    const void* src = type == ElemType::F32 ? static_cast<const void*>(f.data()) : h.data();
    const size_t offset = own_part(traits.output_has_rank_parts, r);
    char* dst = in_place ? k.out.get<char>() + offset : k.in.get<char>();
    TPBENCH_CUDA_CHECK(cudaMemcpy(dst, src, in_elems * es, cudaMemcpyHostToDevice));
  }
  detail::NcclGroup group;
  for (int r = 0; r < n; ++r) {
    Rank& k = ranks[static_cast<size_t>(r)];
    NcclCommunicator& c = *comms[static_cast<size_t>(r)];
    char* out = k.out.get<char>();
    const void* send = in_place ? out + own_part(traits.output_has_rank_parts, r) : k.in.get();
    void* recv = out + own_part(traits.input_has_rank_parts, r);
    c.run(op, send, recv, count, type, k.stream->get());
  }
  group.end();
  const std::vector<float> expected = collective_expected(op, n, count, seed);
  int64_t wrong = 0;
  for (int r = 0; r < n; ++r) {
    Rank& k = ranks[static_cast<size_t>(r)];
    TPBENCH_CUDA_CHECK(cudaSetDevice(devices[static_cast<size_t>(r)]));
    TPBENCH_CUDA_CHECK(cudaStreamSynchronize(k.stream->get()));
    const size_t offset = own_part(traits.input_has_rank_parts, r);
    std::vector<char> raw(out_elems * es);
    TPBENCH_CUDA_CHECK(cudaMemcpy(raw.data(), k.out.get<char>() + offset, raw.size(), cudaMemcpyDeviceToHost));
    std::vector<float> got(out_elems);
    for (size_t i = 0; i < out_elems; ++i) {
      if (type == ElemType::F32) {
        std::memcpy(&got[i], raw.data() + i * 4, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, raw.data() + i * 2, 2);
        got[i] = from_bf16(h);
      }
    }
    wrong += collective_wrong(op, r, n, count, expected, got.data());
  }
  return wrong;
}

std::vector<int> first_devices(int n) {
  std::vector<int> d(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) d[static_cast<size_t>(i)] = i;
  return d;
}

TEST(NcclGpu, AllCollectivesExactOnAllGpusAndOneRank) {
  SKIP_WITHOUT_GPU();
  std::vector<int> sizes = {1};  // one GPU: the one-rank group only, not twice
  if (gpus > 1) sizes.push_back(gpus);
  if (gpus > 2) sizes.push_back(2);
  for (int n : sizes)
    for (const CollectiveTraits& kind : all_collective_traits())
      for (ElemType t : {ElemType::F32, ElemType::BF16})
        for (size_t count : {size_t{1}, size_t{1000}, size_t{1} << 20})
          EXPECT_EQ(run_once(kind.kind, t, first_devices(n), count, false), 0)
              << kind.name << " " << (t == ElemType::F32 ? "f32" : "bf16") << " ranks " << n
              << " count " << count;
}

TEST(NcclGpu, InPlaceExact) {
  SKIP_WITHOUT_GPU();
  for (const CollectiveTraits& kind : all_collective_traits()) {
    if (kind.has_in_place)
      EXPECT_EQ(run_once(kind.kind, ElemType::BF16, first_devices(gpus), 4096, true), 0) << kind.name;
    else  // all_to_all: refused before anything is enqueued, never silently wrong
      EXPECT_THROW(run_once(kind.kind, ElemType::BF16, first_devices(gpus), 4096, true), std::invalid_argument)
          << kind.name;
  }
}

TEST(NcclGpu, AllToAllIsATransposeNotAGather) {
  SKIP_WITHOUT_GPU();
  // The driver's check (collective_expected) must tell the two apart: on every rank but 0, a
  // gather of the ranks' first parts differs from the transpose NCCL must deliver.
  const int n = std::max(gpus, 2);
  const size_t count = 3;
  const auto expected = collective_expected(CollectiveKind::AllToAll, n, count, 0x6e63636c);
  std::vector<float> gathered(count * size_t(n));
  for (int p = 0; p < n; ++p)
    for (size_t i = 0; i < count; ++i) gathered[size_t(p) * count + i] = collective_input(0x6e63636c, p, i);
  EXPECT_GT(collective_wrong(CollectiveKind::AllToAll, 1, n, count, expected, gathered.data()), 0);
  EXPECT_EQ(run_once(CollectiveKind::AllToAll, ElemType::F32, first_devices(gpus), 4099, false), 0);
}

TEST(DeviceLocalGpu, AllToAllOfRanksSharingOneGpuIsExact) {
  SKIP_WITHOUT_GPU();
  (void)gpus;
  // --emulate-tp's stand-in for NCCL: 3 ranks on GPU 0, one thread and stream each.
  constexpr int n = 3;
  const size_t count = 1001;
  const uint64_t seed = 0x646c6132;
  TPBENCH_CUDA_CHECK(cudaSetDevice(0));
  auto comms = make_device_local_group(n, 30.0);
  const auto expected = collective_expected(CollectiveKind::AllToAll, n, count, seed);
  std::vector<int64_t> wrong(n, -1);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      try {
      TPBENCH_CUDA_CHECK(cudaSetDevice(0));
      cuda_detail::CudaStream stream;
      const size_t elems = count * n;
      std::vector<float> host(elems);
      for (size_t i = 0; i < elems; ++i) host[i] = collective_input(seed, r, i);
      cuda_detail::DeviceBuffer in(elems * sizeof(float)), out(elems * sizeof(float));
      TPBENCH_CUDA_CHECK(cudaMemcpy(in.get(), host.data(), elems * sizeof(float), cudaMemcpyHostToDevice));
      comms[size_t(r)]->all_to_all(in.get(), out.get(), count, ElemType::F32, stream.get());
      TPBENCH_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
      TPBENCH_CUDA_CHECK(cudaMemcpy(host.data(), out.get(), elems * sizeof(float), cudaMemcpyDeviceToHost));
      wrong[size_t(r)] = collective_wrong(CollectiveKind::AllToAll, r, n, count, expected, host.data());
      } catch (const std::exception& e) {
        ADD_FAILURE() << "rank " << r << ": " << e.what();
        comms[size_t(r)]->abort();  // the others must not wait for this rank
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong, std::vector<int64_t>(n, 0));
}

TEST(NcclGpu, GroupMetadataAndAbort) {
  SKIP_WITHOUT_GPU();
  auto comms = make_nccl_group(first_devices(gpus));
  ASSERT_EQ(static_cast<int>(comms.size()), gpus);
  for (int r = 0; r < gpus; ++r) {
    EXPECT_EQ(comms[static_cast<size_t>(r)]->rank(), r);
    EXPECT_EQ(comms[static_cast<size_t>(r)]->size(), gpus);
    EXPECT_EQ(comms[static_cast<size_t>(r)]->device(), r);
    EXPECT_STREQ(comms[static_cast<size_t>(r)]->name(), "nccl");
    EXPECT_FALSE(comms[static_cast<size_t>(r)]->async_error().has_value());
  }
  std::vector<NcclCommunicator*> raw;
  for (auto& c : comms) raw.push_back(c.get());
  EXPECT_TRUE(abort_all(raw, 30s));
  for (auto& c : comms) {
    EXPECT_TRUE(c->aborted());
    EXPECT_EQ(c->handle(), nullptr);
    EXPECT_THROW(c->all_reduce(nullptr, nullptr, 1, ElemType::F32), CollectiveAborted);
    c->abort();  // idempotent
  }
}  // destructors after abort: nothing left to free

TEST(NcclGpu, OversubscribedGroupNeedsNcclSupport) {
  SKIP_WITHOUT_GPU();
  (void)gpus;
  const char* env = std::getenv("NCCL_MULTI_RANK_GPU_ENABLE");
  if (nccl_version() >= kNcclMultiRankGpuVersion && env != nullptr && std::string(env) == "1") {
    EXPECT_EQ(run_once(CollectiveKind::AllReduce, ElemType::BF16, {0, 0}, 4096, false), 0);
  } else {
    EXPECT_ANY_THROW(make_nccl_group({0, 0}));  // refused with one line, not a hang
  }
}

TEST(NcclGpu, CollectiveCommandCudaBackend) {
  SKIP_WITHOUT_GPU();
  CollectiveRequest req;
  req.ranks = gpus;
  req.counts = {1, 1024, 1 << 18};
  req.iters = 3;
  req.warmup = 1;
  req.seed = 7;
  for (const CollectiveTraits& kind : all_collective_traits()) {
    const CollectiveKind op = kind.kind;
    req.op = op;
    std::vector<CollectiveTiming> got;
    run_collective_cuda(req, [&](size_t k, const CollectiveTiming& t) {
      EXPECT_EQ(k, got.size());
      got.push_back(t);
    });
    ASSERT_EQ(got.size(), req.counts.size());
    for (const CollectiveTiming& t : got) {
      EXPECT_EQ(t.wrong, 0) << collective_name(op);
      EXPECT_GT(t.time_s, 0);
    }
  }
}

}  // namespace
}  // namespace tpbench
#endif  // TPBENCH_HAVE_CUDA
