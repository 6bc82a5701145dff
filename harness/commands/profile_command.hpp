#pragma once
// `tpbench profile show NAME|FILE [--json]`: a system profile's ceilings and collective tables.
#include <ostream>
#include <string>

#include "harness/report/table.hpp"

namespace tpbench {

struct ProfileOptions {
  std::string name;   // built-in name or profile JSON file
  bool json = false;
  TableFormat format = TableFormat::Text;  // how the tables are printed (--format)
};

int run_profile_show(const ProfileOptions& o, std::ostream& out);

}  // namespace tpbench
