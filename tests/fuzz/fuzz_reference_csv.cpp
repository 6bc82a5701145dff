// --reference FILE.csv: llm-d's serving results (config, concurrency, throughputs). The reader
// has no writer; accepted points must be well formed.
#include <cmath>

#include "harness/observations/csv.hpp"
#include "harness/observations/observations.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tpbench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fuzz::as_text(data, size);
  return fuzz::accept_or_usage_error([&] {
    const ObservationSet s = reference_from_table(parse_csv(text, "fuzz.csv"), "fuzz.csv");
    for (const Observation& o : s.points) {
      FUZZ_CHECK(o.concurrency >= 1 && o.num_gpus >= 0);  // num_gpus: 0 without its column
      FUZZ_CHECK(!(o.tokens_per_s_per_gpu < 0));
    }
  });
}
