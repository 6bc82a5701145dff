#include "harness/commands/compare_command.hpp"

#include "harness/observations/compare.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/io/provenance.hpp"

namespace tpbench {

int run_compare(const CompareOptions& o, std::ostream& out) {
  if (!o.json.empty()) check_writable(o.json, {o.reference, o.predicted});
  const SweepSelection& sel = o.sweep;
  const ObservationSet ref = read_observations(o.reference, sel);
  const ObservationSet model = read_observations(o.predicted, sel);
  check_selection_used(sel, {&ref, &model});
  const Comparison c = compare_observations(ref, model, o.per_user);
  if (o.format != TableFormat::Text) {
    const std::vector<Table> tables = comparison_tables(c, o.per_point);
    std::vector<const Table*> shown;
    for (const Table& t : tables) shown.push_back(&t);
    print_tables(out, o.format, shown);
    if (!o.json.empty()) write_file_atomic(o.json, comparison_to_json(c).dump(2) + "\n");
    return 0;
  }
  auto kind = [](const ObservationSet& s) {
    return observation_kind_name(s.kind) + (s.model.empty() ? "" : " of " + s.model) + (s.selection.empty() ? "" : ": " + s.selection);
  };
  out << "reference " << ref.origin << " (" << kind(ref) << ") vs " << model.origin << " (" << kind(model) << ")\n";
  if (!ref.model.empty() && !model.model.empty() && ref.model != model.model)
    out << "note: the two sides are of different models (" << ref.model << ", " << model.model << ")\n";
  if (ref.kind == ObservationKind::Sweep || model.kind == ObservationKind::Sweep)
    out << "note: a sweep point is steady decode at one batch and context (no prefill, no queueing), so its tok/s/GPU "
           "is an upper reference for a serving point at that concurrency, not a serving measurement\n";
  out << comparison_table(c, o.per_point);
  if (model.kind == ObservationKind::Prediction)
    out << "efficiency = reference / predicted tok/s/GPU: the serving stack's share of the profile's speed of light\n";
  if (!o.json.empty()) {
    nlohmann::json doc = comparison_to_json(c);
    add_provenance(doc, {o.command_line, CreationTime::Omit});
    write_file_atomic(o.json, doc.dump(2) + "\n");
    out << "wrote " << o.json << "\n";
  }
  return 0;
}

}  // namespace tpbench
