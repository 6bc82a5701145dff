#pragma once
// `tpbench compare`: reference (llm-d CSV, or any points file) against a prediction or sweep.
#include <cstdint>
#include <ostream>
#include <string>

#include "harness/observations/observations.hpp"
#include "harness/report/table.hpp"

namespace tpbench {

struct CompareOptions {
  std::string reference;   // CSV (llm-d) or JSON points
  std::string predicted;   // prediction JSON, or sweep JSON (measured)
  std::string per_user;    // "", out_div_conc, inv_tpot
  bool per_point = false;
  std::string json;        // write the comparison JSON here
  std::string command_line;  // recorded in the JSON document
  SweepSelection sweep;  // which of a sweep JSON's points to use (observations.hpp)
  TableFormat format = TableFormat::Text;  // how the tables are printed (--format)
};

int run_compare(const CompareOptions& o, std::ostream& out);

}  // namespace tpbench
