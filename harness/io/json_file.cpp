#include "harness/io/json_file.hpp"

#include <cmath>

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

std::optional<int64_t> json_whole_number(const nlohmann::json& v, int64_t lo, int64_t hi) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (hi < 0 || u > uint64_t(hi) || (lo > 0 && u < uint64_t(lo))) return std::nullopt;
    return int64_t(u);
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i < lo || i > hi) return std::nullopt;
    return i;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!(d >= double(lo) && d <= double(hi)) || d != std::floor(d)) return std::nullopt;
    return int64_t(d);
  }
  return std::nullopt;
}

}  // namespace tpbench
