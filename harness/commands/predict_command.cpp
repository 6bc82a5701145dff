#include "harness/commands/predict_command.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "harness/common/error.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/perf/measured_step_times.hpp"
#include "harness/perf/inputs.hpp"
#include "harness/perf/system_profile.hpp"
#include "harness/common/split_list.hpp"
#include "harness/sim/grid.hpp"

namespace tpbench {

namespace {

std::vector<std::string> split_paths(const std::string& s) {
  std::vector<std::string> out = split_comma_list(s);
  if (out.empty()) throw UsageError("--measured needs sweep JSON files (a.json[,b.json])");
  return out;
}

// One row per point; a point that does not fit is a sentence in the text form.
Table prediction_table(const std::vector<ServingPoint>& points) {
  using NF = NumberFormat;
  Table t;
  t.name = "prediction";
  t.title = "Simulated serving points";
  t.columns = {Column::words("layout", "layout", 16),
               Column::numbers("concurrency", "conc", NF::integer(), 5),
               Column::numbers("gpus", "gpus", NF::integer(), 5),
               Column::numbers("output_tok_s", "out tok/s", NF::fixed(1), 10).with_unit("tok/s"),
               Column::numbers("ttft_s", "ttft s", NF::fixed(2), 9).with_unit("s"),
               Column::numbers("tpot_ms", "tpot ms", NF::fixed(2), 9).with_unit("ms"),
               Column::numbers("e2e_s", "e2e s", NF::fixed(2), 9).with_unit("s"),
               Column::numbers("tok_s_per_gpu", "tok/s/gpu", NF::fixed(2), 10).with_unit("tok/s"),
               Column::numbers("tok_s_per_user_inv_tpot", "1/tpot", NF::fixed(2), 9).with_unit("tok/s"),
               Column::numbers("tok_s_per_user_out_div_conc", "out/conc", NF::fixed(2), 9).with_unit("tok/s"),
               Column::numbers("mean_batch", "batch", NF::fixed(1), 7),
               Column::words("not_runnable_reason", "not runnable").with_missing("").hidden_in_text()};
  for (const auto& p : points) {
    if (!p.feasible) {
      Row& r = t.add_row({p.layout, p.concurrency, p.num_gpus, Cell::na(), Cell::na(), Cell::na(), Cell::na(), Cell::na(),
                          Cell::na(), Cell::na(), Cell::na(), p.reason});
      r.text_columns = 0;
      r.text_after = p.layout + " @" + std::to_string(p.concurrency) + ": not runnable: " + p.reason;
      continue;
    }
    const double busy = p.main.stats.busy_s;  // per instance: both sums are over them
    t.add_row({p.layout, p.concurrency, p.num_gpus, p.output_tok_s, p.ttft_s, p.tpot_s * 1e3, p.e2e_s,
               p.tokens_per_s_per_gpu, p.per_user_inv_tpot, p.per_user_out_div_conc,
               busy > 0 ? p.main.stats.decode_seq_s / busy : 0.0, Cell::na()});
  }
  return t;
}

// One line per layout saying where each phase's step times came from (fallbacks made visible).
void print_sources(const std::vector<ServingPoint>& points, std::ostream& out) {
  std::set<std::string> seen;
  for (const auto& p : points) {
    if (!p.feasible || !seen.insert(p.layout).second) continue;
    out << "step times " << p.layout << ": " << step_time_origin_name(p.step_time_source);
    auto pool = [&](const char* name, const PoolReport& r) {
      if (r.decode_source) out << "; " << name << "TP" << r.tp << " decode " << step_time_origin_name(*r.decode_source);
      if (r.prefill_source)
        out << "; " << name << "TP" << r.tp << " prefill " << step_time_origin_name(*r.prefill_source);
    };
    pool(p.prefill.tp > 0 ? "decode pool " : "", p.main);
    if (p.prefill.tp > 0) pool("prefill pool ", p.prefill);
    if (p.emulated) out << " (emulated TP points)";
    double outside = 0, steps = 0;
    for (const auto& q : points)
      if (q.layout == p.layout) {
        outside += q.main.stats.outside_measured_steps + q.prefill.stats.outside_measured_steps;
        steps += q.main.stats.steps + q.prefill.stats.steps;
      }
    if (outside > 0) {
      char pct[64];
      std::snprintf(pct, sizeof pct, " [%.0f%% of steps outside the measured range]", 100.0 * outside / steps);
      out << pct;
    }
    out << "\n";
  }
}

// A per-TP parameter set for a TP no layout runs changes nothing: say so rather than let the
// user believe it was applied.
void warn_unused_per_tp_params(const PerfParams& par, const std::vector<Layout>& layouts) {
  std::set<int> tps;
  for (const Layout& l : layouts)
    for (const Pool* p : {&l.replicas, &l.prefill, &l.decode})
      if (p->tp > 0) tps.insert(p->tp);
  auto warn = [&](const std::string& name, int tp) {
    if (!tps.count(tp))
      std::cerr << "tpbench: warning: --set " << name << " applies to TP " << tp << ", which no --layout runs\n";
  };
  for (const auto& [tp, v] : par.step_overhead_by_tp_s) warn("step_overhead_tp" + std::to_string(tp) + "_s", tp);
  for (const auto& [tp, v] : par.step_time_scale_by_tp) warn("step_time_scale_tp" + std::to_string(tp), tp);
}

}  // namespace

int run_predict(const PredictOptions& o, std::ostream& out) {
  if (!o.out.empty()) {
    std::vector<std::string> inputs = split_comma_list(o.measured);
    inputs.insert(inputs.end(), {o.profile, o.model_config});
    check_writable(o.out, inputs);
  }
  const SystemProfile prof = resolve_profile(o.profile);
  const ModelSpec m = select_model(o.model, o.model_config, o.weight_dtype, o.kv_dtype);
  PerfParams par;
  apply_overrides(par, o.set);
  GridSpec g;
  g.layouts = parse_layout_list(o.layouts);
  warn_unused_per_tp_params(par, g.layouts);
  g.concurrency = parse_int_list(o.concurrency, "concurrency");
  g.isl = o.isl;
  g.osl = o.osl;
  g.prompts_per_user = o.prompts_per_user;
  g.scheme = parse_scheme(o.plan, o.overlap, o.split_chunks);
  // 0 (the option's default) means the profile's link; a given value must be a positive rate.
  if (o.kv_link_gbps != 0 && (!(o.kv_link_gbps > 0) || !std::isfinite(o.kv_link_gbps) || o.kv_link_gbps > 1e6))
    throw UsageError("--kv-link-gbps must be a positive number of GB/s");
  g.kv_link_bandwidth = o.kv_link_gbps * 1e9;
  // Loaded before any simulation so a bad file fails fast (exit 2) and nothing is written.
  // Measured points of the plan and overlap being predicted, unless others are named.
  std::unique_ptr<MeasuredStepTimes> measured;
  const bool default_scheme = o.plan == "tp" && o.overlap == "none";
  const std::string mplan = o.measured_plan.empty() && !default_scheme ? o.plan : o.measured_plan;
  const std::string moverlap = o.measured_overlap.empty() && !default_scheme ? o.overlap : o.measured_overlap;
  if (!o.measured.empty())
    measured = std::make_unique<MeasuredStepTimes>(MeasuredStepTimes::from_files(split_paths(o.measured), m, mplan, moverlap));
  else if (!o.measured_plan.empty() || !o.measured_overlap.empty())
    throw UsageError("--measured-plan and --measured-overlap need --measured");
  g.measured = measured.get();
  const auto t0 = std::chrono::steady_clock::now();
  const auto points = simulate_grid(g, m, prof, par);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Some points not fitting is a result (the grid says where); none fitting is a bad request.
  bool any_feasible = false;
  for (const auto& p : points) any_feasible = any_feasible || p.feasible;
  if (!any_feasible && !points.empty())
    throw UsageError("no requested point fits in memory: " + points.front().layout + ": " + points.front().reason);

  print_table(out, o.format, prediction_table(points));
  if (o.format == TableFormat::Text) {
    if (measured) print_sources(points, out);
    char line[256];
    std::snprintf(line, sizeof line,
                  "(%zu points simulated in %.3f s; profile %s, model %s (weights %s, KV %s), plan %s, overlap %s, "
                  "ISL %lld, OSL %lld)\n",
                  points.size(), secs, prof.name.c_str(), m.name.c_str(), dtype_name(m.weight_dtype),
                  dtype_name(m.kv_dtype), plan_name(g.scheme.plan), overlap_name(g.scheme.overlap), (long long)o.isl,
                  (long long)o.osl);
    out << line;
  }
  if (!o.out.empty()) {
    write_file_atomic(o.out, prediction_document(g, m, prof, par, points, o.command_line).dump(2) + "\n");
    if (o.format == TableFormat::Text) out << "wrote " << o.out << "\n";
  }
  return 0;
}

}  // namespace tpbench
