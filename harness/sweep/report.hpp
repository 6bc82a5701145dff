#pragma once
// Output printers for a sweep: the JSON document and the console table.
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/report/table.hpp"
#include "harness/model/model_spec.hpp"
#include "harness/sweep/point.hpp"

namespace tpbench {

// Where the sweep stood when a document was written: while it runs each finished point is
// written at once, so a document on disk after a kill, a second signal or a full disk says
// `"complete": false`.
enum class SweepState { Running, Interrupted, Complete };

// The whole document (schema tpbench.result/1).
nlohmann::json sweep_document(const std::string& command_line, const nlohmann::json& system,
                              const ModelSpec& model, const std::vector<Point>& points, SweepState state,
                              const nlohmann::json& collective_check = nullptr);

// One row per point: configuration, step time percentiles, rates, exposed communication and the
// verification verdict; a point that did not run says why.
Table sweep_table(const std::vector<Point>& points);
void print_sweep_table(std::ostream& out, const std::vector<Point>& points, TableFormat f = TableFormat::Text);

}  // namespace tpbench
