#pragma once
// `tpbench toy`: the toy model (toy_model.hpp: tau and alpha, segments AB and BC) fitted to
// every curve of any points file (the llm-d CSV, a prediction, a sweep), with where it fails.
#include <cstdint>
#include <ostream>
#include <string>

#include "harness/observations/observations.hpp"
#include "harness/report/table.hpp"

namespace tpbench {

struct ToyOptions {
  std::string curves;       // comma list of points files (CSV or JSON)
  std::string configs;      // comma list: only these configurations (empty: all)
  double tolerance = 0.2;   // a point fails when the model is off by more than this fraction
  bool per_point = false;   // print every point's residual
  std::string json;         // write the fits here
  std::string command_line;  // recorded in the JSON document
  SweepSelection sweep;  // which of a sweep JSON's points to use (observations.hpp)
  TableFormat format = TableFormat::Text;  // how the tables are printed (--format)
};

int run_toy(const ToyOptions& o, std::ostream& out);

}  // namespace tpbench
