// --profile FILE: a system profile (tpbench.profile/1). Round trip: an accepted profile written
// by profile_to_json (what calibrate writes) reads back to the same document.
#include "harness/io/json_file.hpp"
#include "harness/perf/system_profile.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tpbench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fuzz::as_text(data, size);
  return fuzz::accept_or_usage_error([&] {
    const SystemProfile p = profile_from_json(parse_json_text(text, "fuzz.json", "profile"), "'fuzz.json'");
    const std::string written = profile_to_json(p).dump();
    const SystemProfile again = profile_from_json(parse_json_text(written, "written.json", "profile"), "'written.json'");
    FUZZ_CHECK(profile_to_json(again).dump() == written);
  });
}
