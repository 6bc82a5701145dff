#include "harness/commands/explain_command.hpp"

#include <algorithm>
#include <filesystem>

#include "harness/common/error.hpp"
#include "harness/explain/explain_report.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/io/child_process.hpp"
#include "harness/perf/inputs.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/sim/grid.hpp"

namespace tpbench {
namespace fs = std::filesystem;

namespace {
// The files the plot writes beside the report: the prediction it plots and the PNG.
struct PlotFiles {
  fs::path prediction, png;
};

PlotFiles plot_files(const std::string& out) {
  const fs::path report(out);
  const fs::path dir = report.parent_path().empty() ? fs::path(".") : report.parent_path();
  return {dir / (report.stem().string() + "_prediction.json"), dir / (report.stem().string() + "_pareto.png")};
}

void remove_plot_files(const PlotFiles& f) {
  std::error_code ec;
  fs::remove(f.prediction, ec);
  fs::remove(f.png, ec);
}

// Renders the Pareto plot beside the report when python3 with matplotlib is available; the
// report never depends on it (a missing plot is mentioned, not an error). Returns the PNG's file
// name, or "" with `why` saying what was missing; a failed plot leaves neither file behind.
std::string try_plot(const ExplainOptions& o, const ExplainInputs& in, const GridSpec& g,
                     const std::vector<ServingPoint>& pts, std::string& why) {
  const PlotFiles files = plot_files(o.out);
  const fs::path script = fs::path(TPBENCH_SOURCE_DIR) / "scripts" / "plot_pareto.py";
  why = script.string() + " not found";
  if (!fs::exists(script)) return "";
  why = "python3 with matplotlib not found";
  if (run_quietly({"python3", "-c", "import matplotlib"}) != 0) return "";
  write_file_atomic(files.prediction.string(),
                    prediction_document(g, in.model, in.profile, PerfParams{}, pts, "tpbench explain").dump(1));
  // One replica of each TP and the PD layouts: the 2..8-replica curves repeat them (k replicas at C
  // behave like one at C/k) and would bury the plot.
  std::string shown;
  for (const auto& l : g.layouts)
    if (l.disaggregated || l.replicas.instances == 1) shown += (shown.empty() ? "" : ",") + l.name();
  why = "scripts/plot_pareto.py failed";
  // --opt=value: a path that starts with '-' stays a value.
  if (run_quietly({"python3", script.string(), "--reference=" + o.reference, "--predicted=" + files.prediction.string(),
                   "--configs=" + shown, "--out=" + files.png.string()}) != 0 ||
      !fs::exists(files.png)) {
    remove_plot_files(files);
    return "";
  }
  return files.png.filename().string();
}
}  // namespace

int run_explain(const ExplainOptions& o, std::ostream& out) {
  const std::vector<std::string> inputs{o.reference, o.latency, o.profile, o.model_config};
  if (!o.out.empty()) check_writable(o.out, inputs);
  // The plot's files get the report's checks up front: a directory, device or input file there
  // is an error before any work, not a silently missing plot.
  const bool plotting = !o.out.empty() && o.plot;
  if (plotting) {
    const PlotFiles files = plot_files(o.out);
    for (const fs::path& f : {files.prediction, files.png}) {
      if (fs::path(o.out) == f) throw UsageError("--out '" + o.out + "' is the name of the plot's own file");
      check_writable(f.string(), inputs);
    }
  }
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
  if (plotting) in.plot_png = try_plot(o, in, g, pts, no_plot);
  try {
    const std::string md = explain_markdown(in, pts);
    if (o.out.empty()) {
      out << md;
    } else {
      write_file_atomic(o.out, md);
    }
  } catch (...) {
    if (!in.plot_png.empty()) remove_plot_files(plot_files(o.out));  // no plot without its report
    throw;
  }
  if (!o.out.empty()) {
    const PlotFiles files = plot_files(o.out);
    out << "wrote " << o.out
        << (!in.plot_png.empty() ? ", " + files.png.string() + " and " + files.prediction.string()
                                 : " (no plot: " + no_plot + ")")
        << "\n";
  }
  return 0;
}

}  // namespace tpbench
