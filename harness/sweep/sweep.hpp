#pragma once
// `tpbench sweep`: every combination of plan x overlap x TP x batch x context, measured on a
// backend, written as one JSON document (rewritten atomically after each point, so an
// interrupted sweep leaves a valid file with the points it finished) and printed as a table.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "harness/backend/backend.hpp"
#include "harness/measure/stats.hpp"
#include "harness/report/table.hpp"

namespace tpbench {

struct SweepOptions {
  std::string model = "tiny";
  std::string model_config;  // Hugging Face config.json; overrides `model`
  std::string weight_dtype, kv_dtype;  // "bf16" | "fp8"; empty: the model's own
  std::vector<std::string> plans{"tp"};
  std::vector<std::string> overlaps{"none"};
  std::vector<int> tp{1};
  std::vector<int> ep{1};  // expert-parallel sizes of MoE models; each runs with every TP it divides
  std::vector<int64_t> batch{1};
  std::vector<int64_t> context{1024};
  std::string phase = "decode";
  int64_t chunk = 0;   // prefill tokens per sequence (0: the whole context)
  int64_t layers = 0;  // run the first L layers and scale (0: all)
  int split_chunks = 2;
  BackendOptions backend;
  bool verify = false;
  bool exposed = true;  // also time compute-only and comm-only variants
  bool force = false;   // run a CPU sweep whose estimated work exceeds the budget
  SamplingPolicy sampling;
  std::string out;           // JSON document; empty: none
  std::string command_line;  // recorded in the document
  bool progress = true;      // progress line on stderr when it is a terminal
  TableFormat format = TableFormat::Text;  // how the tables are printed (--format)
};

// Validates everything first (UsageError: nothing written), then runs. Returns the exit code:
// 0, or 128 + the signal when stopped by SIGINT, SIGTERM or SIGHUP (130, 143, 129: the document
// then holds the finished points and says "interrupted": true).
int run_sweep(const SweepOptions& o, std::ostream& out);

}  // namespace tpbench
