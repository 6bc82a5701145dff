// --measured FILE: a sweep JSON (tpbench.result/1) of the tiny model, read as step-time tables
// and looked up as the simulator does, inside and outside the measured range.
#include "harness/io/json_file.hpp"
#include "harness/model/model_spec.hpp"
#include "harness/perf/measured_step_times.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tpbench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ModelSpec tiny = preset_model("tiny");
  const std::string text = fuzz::as_text(data, size);
  return fuzz::accept_or_usage_error([&] {
    const MeasuredStepTimes t = MeasuredStepTimes::from_documents({{"fuzz.json", parse_json_text(text, "fuzz.json")}}, tiny);
    for (const int tp : {1, 2, 4, 8}) {
      for (const double x : {1.0, 3.0, 1e3, 1e6}) {
        if (t.has_decode(tp)) {
          FUZZ_CHECK(t.decode_s(tp, x, x).value_s >= 0);
          FUZZ_CHECK(t.decode_context_slope(tp, x) >= 0);
        }
        if (t.has_prefill(tp)) FUZZ_CHECK(t.prefill_s(tp, x).value_s >= 0);
      }
    }
    (void)t.describe().dump();
  });
}
