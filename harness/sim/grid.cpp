#include "harness/sim/grid.hpp"

#include <algorithm>
#include <sstream>

#include "harness/common/error.hpp"
#include "harness/io/provenance.hpp"
#include "harness/model/model_document.hpp"
#include "harness/sim/point_json.hpp"

namespace tpbench {

std::vector<ServingPoint> simulate_grid(const GridSpec& g, const ModelSpec& m, const SystemProfile& prof,
                                        const PerfParams& par) {
  std::vector<ServingPoint> out;
  for (const Layout& l : g.layouts)
    for (int c : g.concurrency) {
      ServingConfig cfg;
      cfg.concurrency = c;
      cfg.isl = g.isl;
      cfg.osl = g.osl;
      cfg.prompts_per_user = g.prompts_per_user;
      cfg.kv_link_bandwidth = g.kv_link_bandwidth;
      cfg.measured = g.measured;
      cfg.scheme = g.scheme;
      out.push_back(simulate_serving(l, m, prof, par, cfg));
    }
  return out;
}

nlohmann::json prediction_document(const GridSpec& g, const ModelSpec& m, const SystemProfile& prof,
                                   const PerfParams& par, const std::vector<ServingPoint>& points,
                                   const std::string& command_line) {
  nlohmann::json j;
  j["schema"] = "tpbench.prediction/1";
  add_provenance(j, {command_line, CreationTime::Omit});
  j["profile"] = prof.name;
  j["model"] = model_to_json(m);
  j["workload"] = {{"isl", g.isl}, {"osl", g.osl}, {"prompts_per_user", g.prompts_per_user}};
  j["scheme"] = {{"plan", plan_name(g.scheme.plan)}, {"overlap", overlap_name(g.scheme.overlap)},
                 {"split_chunks", g.scheme.split_chunks}};
  j["params"] = perf_params_to_json(par);
  // Where step times came from: the roofline alone, or sweep tables (files, plan, ranges) with
  // the roofline for the TPs and phases they do not cover.
  j["step_times"] = g.measured ? g.measured->describe() : nlohmann::json{{"source", step_time_origin_name(StepTimeOrigin::Roofline)}};
  if (g.measured) j["step_times"]["source"] = step_time_origin_name(StepTimeOrigin::Measured);
  j["points"] = nlohmann::json::array();
  for (const auto& p : points) j["points"].push_back(point_to_json(p));
  return j;
}

std::vector<int> parse_int_list(const std::string& s, const char* what) {
  std::vector<int> out;
  if (!s.empty() && s.back() == ',') throw UsageError(std::string(what) + " list '" + s + "' ends with a comma");
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long v = 0;
    try {
      v = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 1)
      throw UsageError(std::string("bad ") + what + " '" + item + "' (expected positive integers like 1,8,32)");
    if (v > 1000000) throw UsageError(std::string(what) + " " + item + " is above 1000000");
    // The same value twice would be two points with one key, which no reader can tell apart.
    if (std::find(out.begin(), out.end(), int(v)) != out.end())
      throw UsageError(std::string(what) + " " + item + " is given twice");
    out.push_back(int(v));
  }
  if (out.empty()) throw UsageError(std::string("no ") + what + " given");
  return out;
}

}  // namespace tpbench
