// --layout: a comma list of serving layouts ("4R-TP4", "2P-TP4 1D-TP8"). Round trip: each
// layout's canonical name parses back to the same layout.
#include "harness/sim/layout.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tpbench;

namespace {

bool same(const Layout& a, const Layout& b) {
  auto pool_eq = [](const Pool& x, const Pool& y) { return x.instances == y.instances && x.tp == y.tp; };
  return a.disaggregated == b.disaggregated && pool_eq(a.replicas, b.replicas) &&
         pool_eq(a.prefill, b.prefill) && pool_eq(a.decode, b.decode);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fuzz::as_text(data, size);
  return fuzz::accept_or_usage_error([&] {
    for (const Layout& l : parse_layout_list(text)) {
      FUZZ_CHECK(same(parse_layout(l.name()), l));
      FUZZ_CHECK(l.num_gpus() >= 1);
    }
  });
}
