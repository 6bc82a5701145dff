#include "harness/sim/layout.hpp"

#include <regex>
#include <sstream>

#include "harness/common/error.hpp"

namespace tpbench {

std::string Pool::name() const { return "TP" + std::to_string(tp) + (ep > 1 ? "EP" + std::to_string(ep) : ""); }

std::string Layout::name() const {
  if (!disaggregated) return std::to_string(replicas.instances) + "R-" + replicas.name();
  return std::to_string(prefill.instances) + "P-" + prefill.name() + " " + std::to_string(decode.instances) + "D-" +
         decode.name();
}

int Layout::num_gpus() const {
  if (!disaggregated) return replicas.instances * replicas.tp;
  return prefill.instances * prefill.tp + decode.instances * decode.tp;
}

Layout parse_layout(const std::string& raw) {
  static const std::regex agg(R"(^\s*(?:(\d+)\s*R\s*-\s*)?TP\s*(\d+)(?:\s*EP\s*(\d+))?\s*$)", std::regex::icase);
  static const std::regex pd(
      R"(^\s*(\d+)\s*P\s*-\s*TP\s*(\d+)(?:\s*EP\s*(\d+))?\s+(\d+)\s*D\s*-\s*TP\s*(\d+)(?:\s*EP\s*(\d+))?\s*$)",
      std::regex::icase);
  // libstdc++'s regex matcher recurses once per character: a long enough argument (100 000
  // blanks) overflows the stack. No layout needs more than a few dozen characters.
  constexpr size_t kLongestLayout = 100;
  if (raw.size() > kLongestLayout)
    throw UsageError("layout '" + raw.substr(0, 40) + "...' is too long (at most " + std::to_string(kLongestLayout) +
                     " characters)");
  std::smatch mt;
  Layout l;
  auto num = [&](const std::ssub_match& g, int fallback) {
    if (!g.matched) return fallback;
    const std::string v = g.str();
    if (v.size() > 4) throw UsageError("layout '" + raw + "': number too large");
    return std::stoi(v);
  };
  if (std::regex_match(raw, mt, agg)) {
    l.replicas = {num(mt[1], 1), num(mt[2], 0), num(mt[3], 1)};
  } else if (std::regex_match(raw, mt, pd)) {
    l.disaggregated = true;
    l.prefill = {num(mt[1], 0), num(mt[2], 0), num(mt[3], 1)};
    l.decode = {num(mt[4], 0), num(mt[5], 0), num(mt[6], 1)};
  } else {
    throw UsageError("bad layout '" + raw +
                     "' (expected kR-TPn like 4R-TP4, or aP-TPx bD-TPy like '2P-TP4 1D-TP8'; TPnEPe for expert parallelism)");
  }
  for (const Pool* p : {&l.replicas, &l.prefill, &l.decode})
    if ((p != &l.replicas) == l.disaggregated) {
      if (p->instances < 1 || p->tp < 1 || p->ep < 1)
        throw UsageError("bad layout '" + raw + "': instance counts, TP and EP must be >= 1");
      if (p->tp % p->ep != 0) throw UsageError("bad layout '" + raw + "': EP must divide TP");
    }
  return l;
}

std::vector<Layout> parse_layout_list(const std::string& s) {
  std::vector<Layout> out;
  if (!s.empty() && s.back() == ',') throw UsageError("layout list '" + s + "' ends with a comma");
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    Layout l = parse_layout(item);
    // A layout twice would be two sets of points with one name, which no reader can tell apart.
    for (const Layout& seen : out)
      if (seen.name() == l.name()) throw UsageError("layout '" + l.name() + "' is given twice");
    out.push_back(std::move(l));
  }
  if (out.empty()) throw UsageError("no layout given");
  return out;
}

}  // namespace tpbench
