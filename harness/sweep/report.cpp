#include "harness/sweep/report.hpp"

#include <ctime>
#include <ostream>

#include "harness/io/provenance.hpp"
#include "harness/model/model_document.hpp"

namespace tpbench {

nlohmann::json sweep_document(const std::string& command_line, const nlohmann::json& system,
                              const ModelSpec& model, const std::vector<Point>& points, SweepState state,
                              const nlohmann::json& collective_check) {
  nlohmann::json pts = nlohmann::json::array();
  for (const Point& p : points) pts.push_back(to_json(p));
  nlohmann::json doc = {{"schema", "tpbench.result/1"},
                        {"collective_check", collective_check},
                        {"system", system},
                        {"model", model_to_json(model)},
                        {"interrupted", state == SweepState::Interrupted},
                        {"complete", state == SweepState::Complete},
                        {"points", pts}};
  add_provenance(doc, {command_line, CreationTime::Record});
  return doc;
}

namespace {
// Caveats a point's numbers carry, as the text form appends them: " [emulated] [2/80 layers, scaled]".
std::string point_flags(const Point& p) {
  std::string flags;
  if (p.config.ep > 1) flags += " [EP" + std::to_string(p.config.ep) + "]";
  if (p.emulated) flags += p.overlap_optimistic ? " [emulated, overlap optimistic]" : " [emulated]";
  if (p.oversubscribed) flags += " [oversubscribed]";
  if (p.layers_run < p.layers_total)
    flags += " [" + std::to_string(p.layers_run) + "/" + std::to_string(p.layers_total) + " layers, scaled]";
  return flags;
}
}  // namespace

Table sweep_table(const std::vector<Point>& points) {
  using NF = NumberFormat;
  Table t;
  t.name = "sweep";
  t.title = "Measured steps";
  t.columns = {Column::words("plan", "plan", 13),
               Column::words("overlap", "overlap", 7),
               Column::words("phase", "phase", 7),
               Column::numbers("tp", "TP", NF::integer(), 3),
               Column::numbers("batch", "batch", NF::integer(), 5),
               Column::numbers("context", "context", NF::integer(), 7),
               Column::numbers("step_ms", "step ms", NF::fixed(4), 11).with_unit("ms"),
               Column::numbers("p10_ms", "p10 ms", NF::fixed(4), 11).with_unit("ms"),
               Column::numbers("p90_ms", "p90 ms", NF::fixed(4), 11).with_unit("ms"),
               Column::numbers("tok_s_per_user", "tok/s/usr", NF::fixed(2), 10).with_unit("tok/s"),
               Column::numbers("tok_s_per_gpu", "tok/s/gpu", NF::fixed(2), 10).with_unit("tok/s"),
               Column::numbers("exposed_comm_pct", "exp.comm", NF::percent(0), 8).with_unit("%").with_missing("-"),
               Column::words("verified", "verified", 8),
               Column::words("status", "status").hidden_in_text(),
               Column::words("reason", "reason").with_missing("").hidden_in_text(),
               Column::words("flags", "flags").with_missing("").hidden_in_text()};
  for (const Point& p : points) {
    const StepConfig& c = p.config;
    const bool exact = !p.collectives_exact || *p.collectives_exact;
    const char* verified = !p.verified ? (p.verify_skipped.empty() ? "-" : "no-fit")
                                       : (*p.verified && exact ? "yes" : "FAILED");
    const std::string flags = point_flags(p);
    const std::vector<Cell> config = {plan_name(c.plan), overlap_name(c.overlap), phase_name(c.phase), c.tp, c.batch, c.context};
    const std::string status = point_status_name(p.status);
    if (p.status != PointStatus::Ok) {
      std::vector<Cell> cells = config;
      cells.insert(cells.end(), {Cell::na(), Cell::na(), Cell::na(), Cell::na(), Cell::na(), Cell::na(), verified,
                                 status, p.reason, flags.empty() ? Cell::na() : Cell(flags.substr(1))});
      Row& r = t.add_row(std::move(cells));
      r.text_columns = 6;
      r.text_after = "  " + status + ": " + p.reason;
      continue;
    }
    const Cell exposed = p.breakdown.exposed_collective_s && p.step.median > 0
                             ? Cell(100.0 * *p.breakdown.exposed_collective_s / p.step.median)
                             : Cell::na();
    std::vector<Cell> cells = config;
    cells.insert(cells.end(), {p.step.median * 1e3, p.step.p10 * 1e3, p.step.p90 * 1e3, p.tokens_per_s_per_user(),
                               p.tokens_per_s_per_gpu(), exposed, verified, status, Cell::na(),
                               flags.empty() ? Cell::na() : Cell(flags.substr(1))});
    t.add_row(std::move(cells)).text_after = flags;
  }
  return t;
}

void print_sweep_table(std::ostream& out, const std::vector<Point>& points, TableFormat f) {
  print_table(out, f, sweep_table(points));
}

}  // namespace tpbench
