#pragma once
// Reads a whole JSON document from a file: the one reader that compare (prediction and sweep
// JSON) and the measured step-time tables share, so both reject bad files the same way.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tpbench {

// Throws UsageError (one line naming the path, and `what` the file is, e.g. "profile") when the
// file cannot be read (see read_input_file) or is not JSON.
nlohmann::json read_json_file(const std::string& path, const std::string& what = "");
// The same for text already read from `path`.
nlohmann::json parse_json_text(const std::string& text, const std::string& path, const std::string& what = "");

// A count in a document: a JSON number with no fraction (8 or 8.0) within [lo, hi], else
// nullopt. nlohmann's get<int>() would truncate 2^32 + 1 to 1 and convert 1e300 with undefined
// behaviour. lo and hi must lie within +-2^53, where doubles are whole numbers exactly.
std::optional<int64_t> json_whole_number(const nlohmann::json& v, int64_t lo, int64_t hi);

}  // namespace tpbench
