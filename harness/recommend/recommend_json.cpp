#include "harness/recommend/recommend_json.hpp"

#include "harness/sim/grid.hpp"
#include "harness/sim/point_json.hpp"

namespace tpbench {
namespace {

nlohmann::json optional_number(double v) { return v > 0 ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json curve_point(const ServingPoint& p, const Targets& t) {
  return {{"concurrency", p.concurrency},
          {"ttft_s", p.ttft_s},
          {"tpot_s", p.tpot_s},
          {"output_tok_s", p.output_tok_s},
          {"tokens_per_s_per_gpu", p.tokens_per_s_per_gpu},
          {"per_user_inv_tpot", p.per_user_inv_tpot},
          {"per_user_out_div_conc", p.per_user_out_div_conc},
          {"meets_targets", meets_targets(p, t)}};
}

nlohmann::json layout_json(const LayoutOutcome& o, const Targets& t) {
  nlohmann::json j;
  j["layout"] = o.layout.name();
  j["num_gpus"] = o.layout.num_gpus();
  j["disaggregated"] = o.layout.disaggregated;
  j["feasible"] = o.search.feasible;
  if (!o.search.feasible && !o.search.points.empty()) j["reason"] = o.search.points.front().reason;
  j["max_meeting_concurrency"] = o.search.max_meeting_concurrency;
  j["first_missing_concurrency"] = o.search.first_missing_concurrency;
  j["saturated_at"] = o.search.saturated_at;
  j["best"] = o.best() ? point_to_json(*o.best()) : nlohmann::json(nullptr);
  j["curve"] = nlohmann::json::array();
  if (o.search.feasible)
    for (const ServingPoint& p : o.search.points) j["curve"].push_back(curve_point(p, t));
  return j;
}

nlohmann::json chosen_json(const ServingPoint& p, const Targets& t, int gpus) {
  return {{"layout", p.layout},
          {"concurrency", p.concurrency},
          {"num_gpus", p.num_gpus},
          {"ttft_s", p.ttft_s},
          {"tpot_s", p.tpot_s},
          {"output_tok_s", p.output_tok_s},
          {"tokens_per_s_per_gpu", p.tokens_per_s_per_gpu},
          {"tokens_per_s_per_gpu_given", p.output_tok_s / gpus},
          {"tokens_per_s_per_user", per_user_rate(p, t.per_user)}};
}

}  // namespace

nlohmann::json recommendation_document(const RecommendSpec& s, const ModelSpec& m, const SystemProfile& prof,
                                       const PerfParams& par, const Recommendation& r, const RecommendReport& rep,
                                       const std::string& command_line) {
  // The provenance a prediction document carries (tool, command, profile, model, workload,
  // scheme, engine parameters), without its points.
  GridSpec g;
  g.isl = s.isl;
  g.osl = s.osl;
  g.prompts_per_user = s.prompts_per_user;
  g.kv_link_bandwidth = s.kv_link_bandwidth;
  g.scheme = s.scheme;
  nlohmann::json j = prediction_document(g, m, prof, par, {}, command_line);
  j.erase("points");
  j["schema"] = "tpbench.recommendation/1";
  j["gpus"] = s.gpus;
  j["gpus_per_instance_max"] = s.nvlink_domain;
  j["max_concurrency"] = s.max_concurrency;
  j["per_user"] = per_user_name(s.targets.per_user);
  j["targets"] = {{"ttft_s", optional_number(s.targets.ttft_s)},
                  {"tpot_s", optional_number(s.targets.tpot_s)},
                  {"min_tokens_per_s_per_user", optional_number(s.targets.min_tokens_per_user)}};
  j["instance_sizes"] = nlohmann::json::array();
  for (const SizeCheck& c : r.sizes) {
    nlohmann::json size = {{"tp", c.tp}, {"serves", c.serves}, {"prefills", c.prefills},
                           {"kv_tokens", c.kv_tokens}, {"reason", c.reason}};
    if (m.has_moe_layers()) size["ep"] = c.ep;  // a dense model's sizes have no EP axis
    j["instance_sizes"].push_back(size);
  }
  j["layouts"] = nlohmann::json::array();
  nlohmann::json notes = nlohmann::json::array();
  for (const LayoutOutcome& o : r.layouts) {
    j["layouts"].push_back(layout_json(o, s.targets));
    for (const std::string& n : o.search.monotonicity_notes) notes.push_back(n);
  }
  j["monotonicity_notes"] = notes;
  j["frontier"] = nlohmann::json::array();
  for (const FrontierPoint& f : r.frontier) j["frontier"].push_back(chosen_json(r.point(f), s.targets, s.gpus));
  j["recommendation"] = nullptr;
  j["none_meets"] = nullptr;
  if (r.winner >= 0) {
    nlohmann::json rec = chosen_json(*r.layouts[size_t(r.winner)].best(), s.targets, s.gpus);
    rec["runner_up"] = nullptr;
    if (r.runner_up >= 0) rec["runner_up"] = chosen_json(*r.layouts[size_t(r.runner_up)].best(), s.targets, s.gpus);
    rec["why"] = rep.why;
    rec["serving"] = nlohmann::json::array();
    for (const ServingCommand& c : rep.serving) {
      nlohmann::json cmd = {{"role", serving_role_name(c.role)}, {"instances", c.instances}, {"tp", c.tp},
                            {"max_num_seqs", c.max_num_seqs}, {"command", c.command}};
      if (c.ep > 1) cmd["ep"] = c.ep;
      if (!c.not_expressible.empty()) {
        cmd["command"] = nullptr;
        cmd["not_expressible"] = c.not_expressible;
      }
      rec["serving"].push_back(cmd);
    }
    j["recommendation"] = rec;
  } else if (r.closest >= 0) {
    j["none_meets"] = {{"binding_target", target_name(r.binding.kind)},
                       {"closest_layout", r.layouts[size_t(r.closest)].layout.name()},
                       {"closest_ratio", r.binding.ratio},
                       {"why", rep.why}};
  }
  return j;
}

}  // namespace tpbench
