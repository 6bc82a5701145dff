#pragma once
// Reads a whole JSON document from a file: the one reader that compare (prediction and sweep
// JSON) and the measured step-time tables share, so both reject bad files the same way.
#include <string>

#include <nlohmann/json.hpp>

namespace tpbench {

// Throws UsageError (one line naming the path) when the file cannot be read or is not JSON.
nlohmann::json read_json_file(const std::string& path);

}  // namespace tpbench
