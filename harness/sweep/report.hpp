#pragma once
// Output printers for a sweep: the JSON document and the console table.
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/model/model_spec.hpp"
#include "harness/sweep/point.hpp"

namespace tpbench {

nlohmann::json model_to_json(const ModelSpec& m);

// The whole document (schema tpbench.result/1).
nlohmann::json sweep_document(const std::string& command_line, const nlohmann::json& system,
                              const ModelSpec& model, const std::vector<Point>& points, bool interrupted,
                              const nlohmann::json& collective_check = nullptr);

void print_sweep_table(std::ostream& out, const std::vector<Point>& points);

// "2024-05-01T12:00:00Z"
std::string utc_timestamp();

}  // namespace tpbench
