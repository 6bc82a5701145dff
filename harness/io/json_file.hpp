#pragma once
// Reads a whole JSON document from a file: the one reader that compare (prediction and sweep
// JSON) and the measured step-time tables share, so both reject bad files the same way.
#include <string>

#include <nlohmann/json.hpp>

namespace tpbench {

// Throws UsageError (one line naming the path, and `what` the file is, e.g. "profile") when the
// file cannot be read (see read_input_file) or is not JSON.
nlohmann::json read_json_file(const std::string& path, const std::string& what = "");
// The same for text already read from `path`.
nlohmann::json parse_json_text(const std::string& text, const std::string& path, const std::string& what = "");

}  // namespace tpbench
