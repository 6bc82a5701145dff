// --latency FILE.csv: llm-d's measured mean TPOT and TTFT per (config, concurrency). The reader
// takes a path only and has no writer; accepted latencies must be non-negative seconds.
#include "harness/observations/observations.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tpbench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::InputFile file(".csv");
  const std::string& path = file.write(data, size);
  return fuzz::accept_or_usage_error([&] {
    for (const auto& [key, times] : read_latency_csv(path)) {
      FUZZ_CHECK(key.second >= 1);
      FUZZ_CHECK(!(times.first < 0) && !(times.second < 0));
    }
  });
}
