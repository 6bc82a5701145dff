#pragma once
// Collectives among N virtual ranks that all live on ONE GPU (one thread per rank, each with
// its own stream). It lets a one-GPU machine run every rank of a TP=N step for real, for
// --verify under --emulate-tp and for --oversubscribe without NCCL 2.30. Correctness only:
// its timings mean nothing.
//
// Each collective is two host rendezvous (only pointers and events cross threads; the host
// never waits for the GPU): (1) every rank has recorded "input ready" on its stream; each rank's
// stream then waits for all of them and reduces, gathers or exchanges parts into a private
// scratch buffer;
// (2) every rank has recorded "done reading"; each stream waits for all of them before copying
// the scratch into its output, so in-place use is safe. BF16 sums are done in FP32 in rank
// order, identical on every rank.
#include <memory>
#include <vector>

#include "collectives/communicator.hpp"

namespace tpbench {

namespace detail {
struct DeviceLocalState;
}

class DeviceLocalCommunicator final : public Communicator {
 public:
  DeviceLocalCommunicator(std::shared_ptr<detail::DeviceLocalState> state, int rank);
  ~DeviceLocalCommunicator() override;
  int rank() const override { return rank_; }
  int size() const override;
  const char* name() const override { return "device-local"; }
  void all_reduce(const void* send, void* recv, size_t count, ElemType t, void* stream) override;
  void all_gather(const void* send, void* recv, size_t send_count, ElemType t, void* stream) override;
  void reduce_scatter(const void* send, void* recv, size_t recv_count, ElemType t, void* stream) override;
  // Breaks the group and throws std::invalid_argument when send and recv overlap (no in-place
  // form, as NCCL's), although the scratch buffer would make it work here.
  void all_to_all(const void* send, void* recv, size_t count, ElemType t, void* stream) override;
  void abort() override;

 private:
  struct Scratch;
  void collective(CollectiveKind kind, const void* send, void* recv, size_t count, ElemType t, void* stream);
  std::shared_ptr<detail::DeviceLocalState> state_;
  int rank_;
  std::unique_ptr<Scratch> scratch_;
};

// N communicators for ranks sharing the current device.
std::vector<std::unique_ptr<Communicator>> make_device_local_group(int n, double timeout_s);

}  // namespace tpbench
