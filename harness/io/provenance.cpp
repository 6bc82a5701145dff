#include "harness/io/provenance.hpp"

#include <ctime>

#include "tpbench/version.hpp"

namespace tpbench {
namespace {

template <class Json>
void set_provenance(Json& block, const Provenance& p) {
  block["tool"] = {{"name", "tpbench"}, {"version", kVersion}, {"git_commit", kGitCommit}};
  if (!p.command_line.empty()) block["command_line"] = p.command_line;
  if (p.created == CreationTime::Record) block["created_utc"] = utc_timestamp();
}

}  // namespace

void add_provenance(nlohmann::json& block, const Provenance& p) { set_provenance(block, p); }
void add_provenance(nlohmann::ordered_json& block, const Provenance& p) { set_provenance(block, p); }

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace tpbench
