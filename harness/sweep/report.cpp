#include "harness/sweep/report.hpp"

#include <cstdio>
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

void print_sweep_table(std::ostream& out, const std::vector<Point>& points) {
  char line[320];
  std::snprintf(line, sizeof line, "%-13s %-7s %-7s %3s %5s %7s %11s %11s %11s %10s %10s %8s %-8s\n", "plan",
                "overlap", "phase", "TP", "batch", "context", "step ms", "p10 ms", "p90 ms", "tok/s/usr",
                "tok/s/gpu", "exp.comm", "verified");
  out << line;
  for (const Point& p : points) {
    const StepConfig& c = p.config;
    const bool exact = !p.collectives_exact || *p.collectives_exact;
    const char* verified = !p.verified ? (p.verify_skipped.empty() ? "-" : "no-fit")
                                       : (*p.verified && exact ? "yes" : "FAILED");
    std::string flags;
    if (c.ep > 1) flags += " [EP" + std::to_string(c.ep) + "]";
    if (p.emulated) flags += p.overlap_optimistic ? " [emulated, overlap optimistic]" : " [emulated]";
    if (p.oversubscribed) flags += " [oversubscribed]";
    if (p.layers_run < p.layers_total)
      flags += " [" + std::to_string(p.layers_run) + "/" + std::to_string(p.layers_total) + " layers, scaled]";
    if (p.status != PointStatus::Ok) {
      std::snprintf(line, sizeof line, "%-13s %-7s %-7s %3d %5lld %7lld  %s: %s\n", plan_name(c.plan),
                    overlap_name(c.overlap), phase_name(c.phase), c.tp, (long long)c.batch, (long long)c.context,
                    point_status_name(p.status), p.reason.c_str());
      out << line;
      continue;
    }
    char exposed[16] = "-";
    if (p.breakdown.exposed_collective_s && p.step.median > 0)
      std::snprintf(exposed, sizeof exposed, "%.0f%%", 100.0 * *p.breakdown.exposed_collective_s / p.step.median);
    std::snprintf(line, sizeof line, "%-13s %-7s %-7s %3d %5lld %7lld %11.4f %11.4f %11.4f %10.2f %10.2f %8s %-8s%s\n",
                  plan_name(c.plan), overlap_name(c.overlap), phase_name(c.phase), c.tp, (long long)c.batch,
                  (long long)c.context, p.step.median * 1e3, p.step.p10 * 1e3, p.step.p90 * 1e3,
                  p.tokens_per_s_per_user(), p.tokens_per_s_per_gpu(), exposed, verified, flags.c_str());
    out << line;
  }
}

}  // namespace tpbench
