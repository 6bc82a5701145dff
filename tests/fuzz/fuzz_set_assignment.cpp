// --set NAME=VALUE. Round trip: an accepted assignment reads back (get_param) as the value set,
// and writing that value back in full precision sets the same parameters again.
#include <cstdio>
#include <string>

#include "harness/perf/inputs.hpp"
#include "harness/perf/perf_params.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tpbench;

namespace {

bool same(const PerfParams& a, const PerfParams& b) {
  return a.hbm_efficiency == b.hbm_efficiency && a.compute_efficiency == b.compute_efficiency &&
         a.step_overhead_s == b.step_overhead_s && a.collective_scale == b.collective_scale &&
         a.collective_hop_latency_s == b.collective_hop_latency_s &&
         a.step_overhead_by_tp_s == b.step_overhead_by_tp_s && a.step_time_scale_by_tp == b.step_time_scale_by_tp &&
         a.memory_reserve_bytes == b.memory_reserve_bytes && a.gpu_memory_utilization == b.gpu_memory_utilization &&
         a.max_num_batched_tokens == b.max_num_batched_tokens && a.max_num_seqs == b.max_num_seqs &&
         a.kv_on_demand == b.kv_on_demand;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fuzz::as_text(data, size);
  return fuzz::accept_or_usage_error([&] {
    PerfParams p;
    apply_overrides(p, {text});
    const std::string name = text.substr(0, text.find('='));
    const double value = get_param(p, name);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    PerfParams again;
    apply_overrides(again, {name + "=" + buf});
    FUZZ_CHECK(same(p, again));
  });
}
