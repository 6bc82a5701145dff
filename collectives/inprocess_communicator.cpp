#include "collectives/inprocess_communicator.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "harness/common/error.hpp"

namespace tpbench {
namespace {

// A reusable rendezvous of `parties` threads that can be aborted. std::barrier cannot: a
// thread blocked in it waits forever if a peer dies, which is exactly what a benchmark of a
// failing rank must not do.
class AbortableBarrier {
 public:
  AbortableBarrier(int parties, std::chrono::milliseconds timeout)
      : parties_(parties), timeout_(timeout) {}

  // Blocks until all parties have arrived. The last to arrive runs `on_complete` while the
  // others are still blocked (the place to check and size shared state); if it throws, the
  // barrier aborts with its message. Throws CollectiveAborted when aborted before or while
  // waiting, or when the timeout passes (which aborts the barrier for everyone).
  void arrive_and_wait(const std::function<void()>& on_complete = {}) {
    std::unique_lock lock(mutex_);
    if (aborted_) throw CollectiveAborted(reason_);
    if (departed_ > 0) {
      abort_locked("a rank returned while the others still call collectives");
      throw CollectiveAborted(reason_);
    }
    const uint64_t generation = generation_;
    if (++arrived_ == parties_) {
      if (on_complete) {
        try {
          on_complete();
        } catch (const std::exception& e) {
          abort_locked(e.what());
          throw CollectiveAborted(reason_);
        }
      }
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    const auto released = [&] { return generation_ != generation || aborted_; };
    if (timeout_.count() > 0) {
      if (!cv_.wait_for(lock, timeout_, released)) {
        abort_locked("collective timed out: " + std::to_string(arrived_) + " of " +
                     std::to_string(parties_) + " ranks arrived within " +
                     std::to_string(timeout_.count()) + " ms");
      }
    } else {
      cv_.wait(lock, released);
    }
    if (generation_ == generation) throw CollectiveAborted(reason_);  // aborted, not released
  }

  void abort(const std::string& reason) {
    std::lock_guard lock(mutex_);
    abort_locked(reason);
  }

  bool aborted() const {
    std::lock_guard lock(mutex_);
    return aborted_;
  }

  // A party will never arrive again (its thread returned): anyone waiting now, or arriving
  // later, would wait forever, so that aborts. reset_departures() re-arms a fully joined group.
  void depart() {
    std::lock_guard lock(mutex_);
    ++departed_;
    if (arrived_ > 0) abort_locked("a rank returned while the others wait in a collective");
  }
  void reset_departures() {
    std::lock_guard lock(mutex_);
    departed_ = 0;
  }

 private:
  void abort_locked(const std::string& reason) {
    if (!aborted_) reason_ = reason;  // the first cause is the useful one
    aborted_ = true;
    cv_.notify_all();
  }

  const int parties_;
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  int departed_ = 0;
  uint64_t generation_ = 0;
  bool aborted_ = false;
  std::string reason_;
};

enum class Kind { AllReduce, AllGather, ReduceScatter, AllToAll, Barrier };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::AllReduce: return "all_reduce";
    case Kind::AllGather: return "all_gather";
    case Kind::ReduceScatter: return "reduce_scatter";
    case Kind::AllToAll: return "all_to_all";
    case Kind::Barrier: return "barrier";
  }
  return "?";
}

// What one rank brought to the current collective.
struct Post {
  Kind kind = Kind::Barrier;
  const float* send = nullptr;
  float* recv = nullptr;
  size_t count = 0;  // the count argument as passed (per-rank count for gather/scatter)
};

// dst[i] = src_0[offset+i] + src_1[offset+i] + ... + src_{N-1}[offset+i], added in rank order.
// Accumulates in a local block first and writes dst only when the block is complete, so dst
// may alias the calling rank's own input at the same positions (in-place reduce-scatter).
void reduce_in_rank_order(const std::vector<Post>& posts, size_t offset, size_t n, float* dst) {
  constexpr size_t kBlock = 1024;  // 4 KiB: stays in L1 while the N inputs stream through
  float acc[kBlock];
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t len = std::min(kBlock, n - b);
    std::memcpy(acc, posts[0].send + offset + b, len * sizeof(float));
    for (size_t q = 1; q < posts.size(); ++q) {
      const float* src = posts[q].send + offset + b;
      for (size_t i = 0; i < len; ++i) acc[i] += src[i];
    }
    std::memcpy(dst + b, acc, len * sizeof(float));
  }
}

}  // namespace

namespace detail {
struct InProcessState {
  InProcessState(int n, std::chrono::milliseconds timeout)
      : size(n), barrier(n, timeout), posts(static_cast<size_t>(n)) {}
  const int size;
  AbortableBarrier barrier;
  // posts[r] is written by rank r only before the first rendezvous of a collective and read
  // by all between the two; the barrier's mutex orders those accesses.
  std::vector<Post> posts;
  // All-reduce result: rank r reduces the r-th slice, then every rank copies all of it. Only
  // resized at the first rendezvous, when no rank can still be reading the previous result.
  std::vector<float> scratch;
};
}  // namespace detail

namespace {

// Run by the last rank to arrive: every rank must have called the same collective with the
// same count (NCCL would hang or corrupt memory otherwise; we fail loudly instead).
void check_posts_and_size_scratch(detail::InProcessState& s) {
  const Post& p0 = s.posts[0];
  for (int r = 1; r < s.size; ++r) {
    const Post& p = s.posts[static_cast<size_t>(r)];
    if (p.kind != p0.kind || p.count != p0.count)
      throw std::invalid_argument(std::string("collective mismatch: rank 0 called ") +
                                  kind_name(p0.kind) + "(count=" + std::to_string(p0.count) +
                                  "), rank " + std::to_string(r) + " called " +
                                  kind_name(p.kind) + "(count=" + std::to_string(p.count) + ")");
  }
  for (int r = 0; r < s.size; ++r) {
    const Post& p = s.posts[static_cast<size_t>(r)];
    if (p.kind != Kind::Barrier && p.count > 0 && (!p.send || !p.recv))
      throw std::invalid_argument("rank " + std::to_string(r) + " passed a null buffer to " +
                                  kind_name(p.kind));
    if (p.kind == Kind::AllToAll && buffers_overlap(p.send, p.recv, p.count * size_t(s.size) * sizeof(float)))
      throw std::invalid_argument("rank " + std::to_string(r) + " passed overlapping send and recv buffers to "
                                  "all_to_all (it has no in-place form)");
  }
  if (p0.kind == Kind::AllReduce && s.scratch.size() < p0.count) s.scratch.resize(p0.count);
}

}  // namespace

InProcessCommunicator::InProcessCommunicator(std::shared_ptr<detail::InProcessState> state,
                                             int rank)
    : state_(std::move(state)), rank_(rank) {}

int InProcessCommunicator::size() const { return state_->size; }

void InProcessCommunicator::abort() {
  state_->barrier.abort("rank " + std::to_string(rank_) + " called abort()");
}

void InProcessCommunicator::barrier() {
  state_->posts[static_cast<size_t>(rank_)] = Post{};
  state_->barrier.arrive_and_wait([this] { check_posts_and_size_scratch(*state_); });
}

namespace {

// The shared skeleton: post, rendezvous, read the others' inputs, rendezvous, finish.
// A failure on one rank aborts the group so that no other rank waits for it.
template <class Read, class Finish>
void run_collective(detail::InProcessState& s, int rank, const Post& post, ElemType t,
                    Read&& read, Finish&& finish) {
  if (t != ElemType::F32) {
    s.barrier.abort("rank " + std::to_string(rank) + ": unsupported element type");
    throw UsageError("the in-process communicator supports f32 only (bf16 is unsupported)");
  }
  s.posts[static_cast<size_t>(rank)] = post;
  s.barrier.arrive_and_wait([&s] { check_posts_and_size_scratch(s); });
  try {
    read();
  } catch (const std::exception& e) {
    s.barrier.abort(std::string("rank ") + std::to_string(rank) + " failed: " + e.what());
    throw;
  }
  s.barrier.arrive_and_wait();  // everyone has read: inputs may now be overwritten
  finish();
}

}  // namespace

void InProcessCommunicator::all_reduce(const void* send, void* recv, size_t count, ElemType t,
                                       void* /*stream*/) {
  auto& s = *state_;
  const Post post{Kind::AllReduce, static_cast<const float*>(send), static_cast<float*>(recv), count};
  const size_t n = static_cast<size_t>(s.size), r = static_cast<size_t>(rank_);
  const size_t begin = count * r / n, end = count * (r + 1) / n;
  run_collective(
      s, rank_, post, t,
      [&] { reduce_in_rank_order(s.posts, begin, end - begin, s.scratch.data() + begin); },
      [&] {
        // recv may be this rank's own input (in place): safe now that every rank has read it.
        if (count > 0) std::memcpy(post.recv, s.scratch.data(), count * sizeof(float));
      });
}

void InProcessCommunicator::all_gather(const void* send, void* recv, size_t send_count,
                                       ElemType t, void* /*stream*/) {
  auto& s = *state_;
  const Post post{Kind::AllGather, static_cast<const float*>(send), static_cast<float*>(recv),
                  send_count};
  run_collective(
      s, rank_, post, t,
      [&] {
        // Rank r writes only its own recv. In place, rank q's input is segment q of q's recv,
        // which no rank writes (q skips the self-copy), so reads and writes never meet.
        for (int q = 0; q < s.size; ++q) {
          const float* src = s.posts[static_cast<size_t>(q)].send;
          float* dst = post.recv + static_cast<size_t>(q) * send_count;
          if (src != dst && send_count > 0) std::memcpy(dst, src, send_count * sizeof(float));
        }
      },
      [] {});
}

void InProcessCommunicator::reduce_scatter(const void* send, void* recv, size_t recv_count,
                                           ElemType t, void* /*stream*/) {
  auto& s = *state_;
  const Post post{Kind::ReduceScatter, static_cast<const float*>(send), static_cast<float*>(recv),
                  recv_count};
  run_collective(
      s, rank_, post, t,
      [&] {
        // Only this rank reads segment `rank` of any input, and reduce_in_rank_order reads a
        // block of it before writing the same block: in-place (recv == send + rank*count) is safe.
        reduce_in_rank_order(s.posts, static_cast<size_t>(rank_) * recv_count, recv_count, post.recv);
      },
      [] {});
}

void InProcessCommunicator::all_to_all(const void* send, void* recv, size_t count, ElemType t, void* /*stream*/) {
  auto& s = *state_;
  const Post post{Kind::AllToAll, static_cast<const float*>(send), static_cast<float*>(recv), count};
  run_collective(
      s, rank_, post, t,
      [&] {
        // Rank r writes only its own recv, which overlaps no rank's input (checked at the first
        // rendezvous for its own; other ranks' buffers are theirs): part q is part r of q's input.
        const size_t from = static_cast<size_t>(rank_) * count;
        for (int q = 0; q < s.size && count > 0; ++q)
          std::memcpy(post.recv + static_cast<size_t>(q) * count, s.posts[static_cast<size_t>(q)].send + from,
                      count * sizeof(float));
      },
      [] {});
}

InProcessGroup::InProcessGroup(int size, std::chrono::milliseconds timeout) {
  if (size < 1 || size > 1024)
    throw std::invalid_argument("InProcessGroup: size must be 1..1024, got " + std::to_string(size));
  state_ = std::make_shared<detail::InProcessState>(size, timeout);
}

int InProcessGroup::size() const { return state_->size; }

std::unique_ptr<InProcessCommunicator> InProcessGroup::communicator(int rank) const {
  if (rank < 0 || rank >= state_->size)
    throw std::invalid_argument("InProcessGroup: rank " + std::to_string(rank) + " out of range");
  return std::make_unique<InProcessCommunicator>(state_, rank);
}

std::vector<std::unique_ptr<Communicator>> InProcessGroup::communicators() const {
  std::vector<std::unique_ptr<Communicator>> out;
  for (int r = 0; r < state_->size; ++r) out.push_back(communicator(r));
  return out;
}

void InProcessGroup::abort(const std::string& reason) const { state_->barrier.abort(reason); }

bool InProcessGroup::aborted() const { return state_->barrier.aborted(); }

void InProcessGroup::run(const std::function<void(InProcessCommunicator&)>& fn) const {
  std::mutex mutex;
  std::exception_ptr first_error;  // a rank's own failure: the one worth reporting
  std::exception_ptr first_abort;  // CollectiveAborted: usually the consequence of the above
  auto body = [&](int rank) {
    try {
      const auto comm = communicator(rank);
      fn(*comm);
    } catch (const CollectiveAborted&) {
      std::lock_guard lock(mutex);
      if (!first_abort) first_abort = std::current_exception();
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mutex);
        if (!first_error) first_error = std::current_exception();
      }
      abort("rank " + std::to_string(rank) + " failed: " + e.what());
    } catch (...) {
      {
        std::lock_guard lock(mutex);
        if (!first_error) first_error = std::current_exception();
      }
      abort("rank " + std::to_string(rank) + " failed");
    }
    state_->barrier.depart();
  };
  {
    std::vector<std::jthread> threads;  // joined at scope exit, also when spawning fails
    try {
      for (int r = 0; r < state_->size; ++r) threads.emplace_back(body, r);
    } catch (...) {
      abort("could not start the rank threads");
      throw;
    }
  }
  state_->barrier.reset_departures();
  if (first_error) std::rethrow_exception(first_error);
  if (first_abort) std::rethrow_exception(first_abort);
}

}  // namespace tpbench
