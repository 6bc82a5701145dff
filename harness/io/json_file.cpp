#include "harness/io/json_file.hpp"

#include "harness/common/error.hpp"
#include "harness/io/input_file.hpp"

namespace tpbench {

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  return parse_json_text(read_input_file(path, what), path, what);
}

nlohmann::json parse_json_text(const std::string& text, const std::string& path, const std::string& what) {
  const std::string name = (what.empty() ? "'" : what + " '") + path + "'";
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::out_of_range&) {  // e.g. 1e400: no double holds it
    throw UsageError(name + " is not usable JSON: a number is out of range");
  } catch (const nlohmann::json::exception&) {
    throw UsageError(name + " is not valid JSON");
  }
}

}  // namespace tpbench
