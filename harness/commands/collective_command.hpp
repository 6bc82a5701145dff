#pragma once
// `tpbench collective`: an nccl-tests-style sweep of one collective over message sizes, with
// exact correctness checks, on the in-process communicator (cpu) or NCCL (cuda).
//
// The command (validation, size list, table, JSON) is backend-independent; the measurement and
// the exact check are the collective driver's (collectives/collective_driver.hpp).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "collectives/bandwidth.hpp"
#include "collectives/collective_driver.hpp"
#include "harness/report/table.hpp"

namespace tpbench {

struct CollectiveOptions {
  std::string op = "all_reduce";  // all_reduce | all_gather | reduce_scatter | all_to_all
  int ranks = 2;
  int64_t min_bytes = 8;          // nccl-tests sizes (see collectives/bandwidth.hpp)
  int64_t max_bytes = 1 << 20;
  double step_factor = 2;         // next size = size * step_factor (nccl-tests -f)
  int iters = 20;                 // timed iterations per size
  int warmup = 5;                 // untimed iterations per size, before the timed ones
  std::string backend = "cpu";    // cpu | cuda
  std::string json;               // output file; empty: none
  std::string command_line;  // recorded in the JSON document
  uint64_t seed = 0x636f6c6c;     // "coll"
  std::vector<int> gpus;          // cuda: GPUs to place ranks on; empty = all visible
  TableFormat format = TableFormat::Text;  // how the tables are printed (--format)
};

// Validates (UsageError), measures, prints the table to `out`, writes the JSON. Returns 0, or
// 1 when any result was wrong (the JSON is still written, with the wrong counts).
int run_collective(const CollectiveOptions& opt, std::ostream& out);

}  // namespace tpbench
