#include "harness/io/json_file.hpp"

#include <fstream>
#include <sstream>

#include "harness/common/error.hpp"

namespace tpbench {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error&) {
    throw UsageError("'" + path + "' is not valid JSON");
  }
}

}  // namespace tpbench
