#include "harness/commands/explain_command.hpp"

#include <algorithm>
#include <filesystem>

#include "harness/common/error.hpp"
#include "harness/compare/explain_report.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/io/child_process.hpp"
#include "harness/perf/inputs.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/sim/grid.hpp"

namespace tpbench {
namespace fs = std::filesystem;

namespace {
// Renders the Pareto plot beside the report when python3 with matplotlib is available; the
// report never depends on it (a missing plot is mentioned, not an error). Returns the PNG's file
// name, or "" with `why` saying what was missing.
std::string try_plot(const ExplainOptions& o, const ExplainInputs& in, const GridSpec& g,
                     const std::vector<ServingPoint>& pts, std::string& why) {
  const fs::path report(o.out);
  const fs::path dir = report.parent_path().empty() ? fs::path(".") : report.parent_path();
  const fs::path script = fs::path(TPBENCH_SOURCE_DIR) / "scripts" / "plot_pareto.py";
  why = script.string() + " not found";
  if (!fs::exists(script)) return "";
  why = "python3 with matplotlib not found";
  if (run_quietly({"python3", "-c", "import matplotlib"}) != 0) return "";
  const fs::path pred = dir / (report.stem().string() + "_prediction.json");
  const fs::path png = dir / (report.stem().string() + "_pareto.png");
  try {  // the plot is optional: a path it cannot write costs the plot, not the report
    check_writable(png.string(), {o.reference, o.latency});
    write_file_atomic(pred.string(), prediction_document(g, in.model, in.profile, PerfParams{}, pts, "tpbench explain").dump(1));
  } catch (const UsageError& e) {
    why = e.what();
    return "";
  }
  // One replica of each TP and the PD layouts: the 2..8-replica curves repeat them (k replicas at C
  // behave like one at C/k) and would bury the plot.
  std::string shown;
  for (const auto& l : g.layouts)
    if (l.disaggregated || l.replicas.instances == 1) shown += (shown.empty() ? "" : ",") + l.name();
  why = "scripts/plot_pareto.py failed";
  // --opt=value: a path that starts with '-' stays a value.
  if (run_quietly({"python3", script.string(), "--reference=" + o.reference, "--predicted=" + pred.string(),
                   "--configs=" + shown, "--out=" + png.string()}) != 0 ||
      !fs::exists(png))
    return "";
  return png.filename().string();
}
}  // namespace

int run_explain(const ExplainOptions& o, std::ostream& out) {
  if (!o.out.empty()) check_writable(o.out, {o.reference, o.latency, o.profile, o.model_config});
  ExplainInputs in;
  in.profile = resolve_profile(o.profile);
  in.model = select_model(o.model, o.model_config, o.weight_dtype, o.kv_dtype);
  in.reference = read_reference_csv(o.reference);
  if (!o.latency.empty()) in.latency = read_latency_csv(o.latency);
  in.isl = o.isl;
  in.osl = o.osl;
  in.scheme = parse_scheme(o.plan, o.overlap, o.split_chunks);
  const GridSpec g = explain_grid(in);
  const auto pts = simulate_grid(g, in.model, in.profile, PerfParams{});  // once, for the plot and the report
  if (std::none_of(pts.begin(), pts.end(), [](const ServingPoint& p) { return p.feasible; }))
    throw UsageError("no configuration of the reference fits in memory: " +
                     (pts.empty() ? std::string("nothing to simulate") : pts.front().layout + ": " + pts.front().reason));
  std::string no_plot = "--no-plot";
  if (!o.out.empty() && o.plot) in.plot_png = try_plot(o, in, g, pts, no_plot);
  const std::string md = explain_markdown(in, pts);
  if (o.out.empty()) {
    out << md;
  } else {
    write_file_atomic(o.out, md);
    out << "wrote " << o.out << (!in.plot_png.empty() ? " and " + in.plot_png : " (no plot: " + no_plot + ")") << "\n";
  }
  return 0;
}

}  // namespace tpbench
