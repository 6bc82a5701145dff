#pragma once
// How the per-op breakdown (Backend::profile_ops) is timed on a GPU without host time in it.
//
// Ops run one after another on one stream with an event after each; an op's time is the
// interval between its two events. Decode ops take a few microseconds, less than the host needs
// to enqueue them (a cuBLASLt call plus an event record costs about 10 us), so the GPU must not
// reach an op before the host has enqueued it: the ops are enqueued in chunks, each behind a GPU
// hold that lasts longer than the host needs to enqueue the whole chunk, and the host waits for
// each chunk to finish before it enqueues the next. A chunk is small enough that its launches
// never fill CUDA's pending-launch queue (about 1024 entries; a full queue blocks the host
// inside a launch, and the hold would run out while it waits).
// Whether a hold was long enough is checked after the chunk is enqueued (its end event has not
// fired yet); when one ran out, the later chunks get a larger per-op budget.
// What an op's interval still holds beyond the op: the event record that closes it and the
// GPU's gap between that event and the op's first kernel. The first part is measured (two
// event records with nothing between, median over a chunk) and subtracted from every op
// (without_event_overshoot); the second is not: in eager execution each kernel waits ~1-2 us
// for the front end, which a CUDA-graph step partly avoids, so ops of a few microseconds still
// read slightly long, and sum_of_ops over the graph step stays a little above 1.
// Host-only: the arithmetic is unit-tested without a GPU.
#include <vector>

namespace tpbench {

struct ProfileBudget {
  // Host time to enqueue one op with its event record, with margin: a cuBLASLt call plus an
  // event record measures about 10 us on an idle host; 8 rank threads share the host's cores.
  double per_op_s = 25e-6;
  double base_s = 100e-6;   // the hold's own launch and the first event record
  int max_ops = 64;         // <= 4 queue entries per op (a GEMM's kernels, its event): <= 256
  double max_per_op_s = 400e-6;  // growth stops here (a hold of 25 ms per chunk)
};

struct ProfileChunk {
  int begin = 0, end = 0;  // ops [begin, end)
  double hold_s = 0;       // GPU hold queued in front of the chunk
};

// The chunks of `ops` ops (consecutive, covering 0..ops) under `b`.
std::vector<ProfileChunk> profile_chunks(int ops, const ProfileBudget& b = {});
// The hold in front of a chunk of `ops` ops.
double profile_hold_s(int ops, const ProfileBudget& b);
// Each op's interval less the measured event overshoot, never below zero.
std::vector<double> without_event_overshoot(std::vector<double> op_s, double overshoot_s);
// The budget after a chunk's hold ran out before the host had enqueued it: per-op time doubled
// (up to max_per_op_s).
ProfileBudget grown(const ProfileBudget& b);

}  // namespace tpbench
