#pragma once
// The provenance block of every JSON document tpbench writes, in one shape:
//   "tool":         {"name": "tpbench", "version": "...", "git_commit": "..."}
//   "command_line": the arguments as given, when a command wrote the document
//   "created_utc":  "2024-05-01T12:00:00Z", in documents of measurements (sweep, collective,
//                   calibrate), whose time matters; documents computed from their inputs alone
//                   leave it out, so that the same inputs give the same bytes.
// results/schema/provenance.schema.json describes the block; each document's schema refers to it.
#include <string>

#include <nlohmann/json.hpp>

namespace tpbench {

enum class CreationTime { Omit, Record };

struct Provenance {
  std::string command_line;  // empty: the document was not written by a command (a test, a library call)
  CreationTime created = CreationTime::Omit;
};

// Sets "tool", and "command_line" and "created_utc" where `p` has them, in `block` (an object:
// the document, or the part of it that describes the run). ordered_json keeps a block's keys
// in the order they were written.
void add_provenance(nlohmann::json& block, const Provenance& p);
void add_provenance(nlohmann::ordered_json& block, const Provenance& p);

// The current time in UTC, "2024-05-01T12:00:00Z".
std::string utc_timestamp();

}  // namespace tpbench
