// --model-config: a Hugging Face config.json, read and validated as the perf commands do, then
// the sizes every command derives from it (which must not overflow). The reader has no writer.
#include "harness/model/model_spec.hpp"
#include "harness/perf/inputs.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tpbench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::InputFile file(".json");
  const std::string& path = file.write(data, size);
  return fuzz::accept_or_usage_error([&] {
    const ModelSpec m = select_model("", path);
    FUZZ_CHECK(m.weight_bytes() > 0 && m.kv_bytes_per_token() > 0);
    for (const int tp : {1, 2, 4, 8}) {
      try {
        validate_tp(m, tp);
      } catch (const UsageError&) {
      }
    }
  });
}
