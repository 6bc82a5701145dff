// --concurrency and the other positive-integer lists ("1,8,32"). Round trip: the numbers
// written back as a comma list parse to the same numbers.
#include <string>
#include <vector>

#include "harness/sim/grid.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tpbench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fuzz::as_text(data, size);
  return fuzz::accept_or_usage_error([&] {
    const std::vector<int> values = parse_int_list(text, "concurrency");
    std::string written;
    for (const int v : values) {
      FUZZ_CHECK(v >= 1);
      written += (written.empty() ? "" : ",") + std::to_string(v);
    }
    FUZZ_CHECK(parse_int_list(written, "concurrency") == values);
  });
}
