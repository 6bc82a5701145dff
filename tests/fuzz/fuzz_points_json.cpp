// compare / fit / explain inputs: a prediction JSON (tpbench predict) or a sweep JSON (tpbench
// sweep), read as serving points. Read once with the default sweep selection and once with an
// explicit one (context, plan and overlap), as --context/--plan/--overlap give.
#include "harness/observations/observations.hpp"
#include "harness/io/json_file.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tpbench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fuzz::as_text(data, size);
  return fuzz::accept_or_usage_error([&] {
    const nlohmann::json j = parse_json_text(text, "fuzz.json");
    for (const SweepSelection& sel : {SweepSelection{}, SweepSelection{1000, "tp", "none"}}) {
      try {
        const ObservationSet s = points_from_json(j, "fuzz.json", sel);
        for (const Observation& o : s.points) {
          FUZZ_CHECK(o.concurrency >= 1 && o.num_gpus >= 0);  // a prediction may omit num_gpus
          FUZZ_CHECK(!o.not_runnable.empty() || o.tokens_per_s_per_gpu > 0);
        }
      } catch (const UsageError&) {
      }
    }
  });
}
