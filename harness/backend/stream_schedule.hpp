#pragma once
// How a StepProgram maps onto two device streams: which ops record an event and which ops
// wait for one. Host-only (unit-tested without a GPU); the CUDA backend turns it into
// cudaEventRecord / cudaStreamWaitEvent while capturing its graphs.
//
// A program is captured as sections (the layers, then the LM head), each a graph of its own so
// the two can be timed apart. Within a section the communication stream forks from the
// compute stream at the start and joins it at the end, as stream capture requires.
#include <vector>

#include "harness/backend/backend.hpp"
#include "harness/plan/step_program.hpp"

namespace tpbench {

struct StreamSchedule {
  // For op i: the event to record on its stream after it (-1: none), and the events its stream
  // must wait for before it. Events are numbered 0..events-1 and recorded once per step.
  std::vector<int> record_after;
  std::vector<std::vector<int>> wait_before;
  int events = 0;
  bool uses_comm_stream = false;
};

// Ops whose work a variant skips still record their events (the dependency structure, and so
// the graph shape, stays the same); `skipped` says which ops launch nothing.
StreamSchedule schedule_streams(const RankProgram& r);
bool skipped(const Op& op, Variant v);

}  // namespace tpbench
