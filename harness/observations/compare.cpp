#include "harness/observations/compare.hpp"

#include <cmath>
#include <map>
#include <sstream>

#include "harness/common/error.hpp"

namespace tpbench {

double mape_percent(const std::vector<double>& ref, const std::vector<double>& model) {
  double sum = 0;
  size_t n = 0;
  for (size_t i = 0; i < ref.size() && i < model.size(); ++i) {
    if (!(std::abs(ref[i]) > 0) || std::isnan(model[i])) continue;
    sum += std::abs(model[i] - ref[i]) / std::abs(ref[i]);
    ++n;
  }
  return n ? 100.0 * sum / double(n) : std::numeric_limits<double>::quiet_NaN();
}

Comparison compare_observations(const ObservationSet& ref, const ObservationSet& model, const std::string& def) {
  return compare_observations(ref, model, def.empty() ? std::nullopt : std::optional(parse_per_user_metric(def)));
}

Comparison compare_observations(const ObservationSet& ref, const ObservationSet& model, std::optional<PerUserMetric> def) {
  Comparison c;
  c.reference = ref.origin;
  c.model = model.origin;
  c.reference_selection = ref.selection;
  c.model_selection = model.selection;
  c.per_user_def = def.value_or(ref.per_user_def);
  std::map<std::pair<std::string, int>, const Observation*> by_key;
  for (const auto& o : model.points) by_key[{o.config, o.concurrency}] = &o;
  std::vector<std::string> order;
  for (const auto& r : ref.points) {
    if (!r.not_runnable.empty()) {  // a prediction used as the reference: that side cannot run it
      c.not_runnable.push_back(r.config + " @" + std::to_string(r.concurrency) + ": reference: " + r.not_runnable);
      continue;
    }
    auto it = by_key.find({r.config, r.concurrency});
    if (it == by_key.end()) {
      c.unmatched.push_back(r.config + " @" + std::to_string(r.concurrency));
      continue;
    }
    const Observation& m = *it->second;
    if (!m.not_runnable.empty()) {
      c.not_runnable.push_back(r.config + " @" + std::to_string(r.concurrency) + ": " + m.not_runnable);
      continue;
    }
    PointError e;
    e.config = r.config;
    e.concurrency = r.concurrency;
    e.ref_gpu = r.tokens_per_s_per_gpu;
    e.model_gpu = m.tokens_per_s_per_gpu;
    e.ref_user = per_user(r, c.per_user_def);
    e.model_user = per_user(m, c.per_user_def);
    e.ape_gpu = 100.0 * std::abs(e.model_gpu - e.ref_gpu) / e.ref_gpu;
    e.ape_user = 100.0 * std::abs(e.model_user - e.ref_user) / e.ref_user;
    c.points.push_back(e);
    bool seen = false;
    for (const auto& o : order) seen = seen || o == r.config;
    if (!seen) order.push_back(r.config);
  }
  if (c.points.empty())
    throw UsageError("no point of '" + ref.origin + "' matches a runnable point of '" + model.origin +
                     "' (same configuration and concurrency" +
                     (c.not_runnable.empty() ? std::string(")") : "; " + c.not_runnable.front() + ")"));
  // A per-user definition asked for (--per-user) that one side cannot give would print "nan%"
  // as if it were a result. (Unasked, a reference without per-user columns scores tok/s/GPU only.)
  bool ref_user = false, model_user = false;
  for (const auto& p : c.points) {
    ref_user = ref_user || !std::isnan(p.ref_user);
    model_user = model_user || !std::isnan(p.model_user);
  }
  const std::string def_name = c.per_user_def == PerUserMetric::InvTpot ? "1/TPOT (inv_tpot)" : "output/concurrency (out_div_conc)";
  if (def && !ref_user) throw UsageError("'" + ref.origin + "' gives no per-user rate as " + def_name + "; choose the other --per-user");
  if (def && !model_user) throw UsageError("'" + model.origin + "' gives no per-user rate as " + def_name + "; choose the other --per-user");
  std::vector<double> rg, mg, ru, mu;
  for (const auto& cfg : order) {
    std::vector<double> a, b, x, y;
    double eff = 0;
    for (const auto& p : c.points)
      if (p.config == cfg) {
        a.push_back(p.ref_gpu); b.push_back(p.model_gpu); x.push_back(p.ref_user); y.push_back(p.model_user);
        eff += p.ref_gpu / p.model_gpu;
      }
    c.configs.push_back({cfg, int(a.size()), mape_percent(a, b), mape_percent(x, y), eff / double(a.size())});
    rg.insert(rg.end(), a.begin(), a.end()); mg.insert(mg.end(), b.begin(), b.end());
    ru.insert(ru.end(), x.begin(), x.end()); mu.insert(mu.end(), y.begin(), y.end());
  }
  c.mape_gpu = mape_percent(rg, mg);
  c.mape_user = mape_percent(ru, mu);
  return c;
}

namespace {
// A reference point this much faster than the model is flagged: a measurement above the
// speed of light says the run or the profile is not what it claims to be.
constexpr double kAboveModel = 1.05;
}  // namespace

nlohmann::json comparison_to_json(const Comparison& c, bool flag_above_model) {
  nlohmann::json j;
  j["schema"] = "tpbench.comparison/1";
  j["reference"] = c.reference;
  j["model"] = c.model;
  if (!c.reference_selection.empty()) j["reference_selection"] = c.reference_selection;
  if (!c.model_selection.empty()) j["model_selection"] = c.model_selection;
  j["per_user_definition"] = per_user_name(c.per_user_def);
  j["units"] = "mape in percent; efficiency = reference / model tok/s/GPU";
  j["matched_points"] = c.points.size();
  j["mape_tokens_per_s_per_gpu"] = c.mape_gpu;
  j["mape_tokens_per_s_per_user"] = c.mape_user;
  j["configs"] = nlohmann::json::array();
  for (const auto& e : c.configs)
    j["configs"].push_back({{"config", e.config}, {"points", e.points}, {"mape_tokens_per_s_per_gpu", e.mape_gpu},
                            {"mape_tokens_per_s_per_user", e.mape_user}, {"efficiency", e.efficiency_gpu}});
  j["points"] = nlohmann::json::array();
  for (const auto& p : c.points)
    j["points"].push_back({{"config", p.config}, {"concurrency", p.concurrency},
                           {"reference_tokens_per_s_per_gpu", p.ref_gpu}, {"model_tokens_per_s_per_gpu", p.model_gpu},
                           {"reference_tokens_per_s_per_user", p.ref_user}, {"model_tokens_per_s_per_user", p.model_user},
                           {"ape_tokens_per_s_per_gpu", p.ape_gpu}, {"ape_tokens_per_s_per_user", p.ape_user}});
  j["unmatched"] = c.unmatched;
  j["not_runnable"] = c.not_runnable;
  // Against a speed-of-light prediction these say the run or the model is not what it claims to
  // be (see `tpbench explain`); after a fit they mean nothing and are left out.
  if (!flag_above_model) return j;
  j["points_above_model"] = nlohmann::json::array();
  for (const auto& p : c.points)
    if (p.ref_gpu > kAboveModel * p.model_gpu)
      j["points_above_model"].push_back({{"config", p.config}, {"concurrency", p.concurrency},
                                         {"reference_over_model", p.ref_gpu / p.model_gpu}});
  return j;
}

std::vector<Table> comparison_tables(const Comparison& c, bool per_point) {
  using NF = NumberFormat;
  Table configs;
  configs.name = "configurations";
  configs.title = "MAPE per configuration and overall";
  configs.columns = {Column::words("config", "config", 16),
                     Column::numbers("points", "points", NF::integer(), 6),
                     Column::numbers("mape_tok_s_per_gpu_pct", "MAPE tok/s/GPU", NF::percent(1), 14).with_unit("%"),
                     Column::numbers("mape_tok_s_per_user_pct", "MAPE tok/s/user", NF::percent(1), 15).with_unit("%"),
                     Column::numbers("efficiency", "efficiency", NF::fixed(2), 11)};
  for (const auto& e : c.configs) configs.add_row({e.config, e.points, e.mape_gpu, e.mape_user, e.efficiency_gpu});
  Row& overall = configs.add_row({"overall", c.points.size(), c.mape_gpu, c.mape_user, Cell::na()});
  overall.text_columns = 4;
  overall.text_after = std::string("   (per user = ") +
                       (std::isnan(c.mape_user)          ? "not given by both sides"
                        : c.per_user_def == PerUserMetric::InvTpot ? "1/TPOT"
                                                       : "output tok/s / concurrency") +
                       ")";
  std::vector<Table> tables{configs};
  if (!per_point) return tables;
  Table points;
  points.name = "points";
  points.title = "Every matched point";
  points.columns = {Column::words("config", "config", 16),
                    Column::numbers("concurrency", "conc", NF::integer(), 5),
                    Column::numbers("reference_tok_s_per_gpu", "ref/GPU", NF::fixed(2), 10).with_unit("tok/s"),
                    Column::numbers("model_tok_s_per_gpu", "model/GPU", NF::fixed(2), 10).with_unit("tok/s"),
                    Column::numbers("error_tok_s_per_gpu_pct", "err", NF::percent(1), 7).with_unit("%"),
                    Column::numbers("reference_tok_s_per_user", "ref/user", NF::fixed(2), 10).with_unit("tok/s"),
                    Column::numbers("model_tok_s_per_user", "model/user", NF::fixed(2), 10).with_unit("tok/s"),
                    Column::numbers("error_tok_s_per_user_pct", "err", NF::percent(1), 7).with_unit("%")};
  for (const auto& p : c.points)
    points.add_row({p.config, p.concurrency, p.ref_gpu, p.model_gpu, p.ape_gpu, p.ref_user, p.model_user, p.ape_user});
  tables.push_back(points);
  return tables;
}

std::string comparison_table(const Comparison& c, bool per_point, bool flag_above_model) {
  std::ostringstream text;
  const std::vector<Table> tables = comparison_tables(c, per_point);
  for (size_t i = 0; i < tables.size(); ++i) {
    if (i > 0) text << "\n";
    print_table(text, TableFormat::Text, tables[i]);
  }
  std::string s = text.str();
  if (!c.unmatched.empty()) s += std::to_string(c.unmatched.size()) + " reference points had no model point\n";
  if (!c.not_runnable.empty()) {
    // Not in the MAPE above: say so loudly, with the configurations and the model's reason.
    std::map<std::string, int> by_config;
    std::string reason;
    for (const auto& n : c.not_runnable) {
      ++by_config[n.substr(0, n.find(" @"))];
      if (reason.empty()) reason = n.substr(n.find(": ") + 2);
    }
    s += std::to_string(c.not_runnable.size()) + " reference points the model cannot run, left out of the MAPE (";
    int i = 0;
    for (const auto& [cfg, n] : by_config) s += (i++ ? ", " : "") + cfg + " x" + std::to_string(n);
    s += "; e.g. " + reason + ")\n";
  }
  std::string above;
  int n_above = 0;
  for (const auto& p : c.points)
    if (p.ref_gpu > kAboveModel * p.model_gpu) {
      above += (n_above++ ? ", " : "") + p.config + " C=" + std::to_string(p.concurrency);
    }
  if (flag_above_model && n_above > 0)
    s += std::to_string(n_above) + " reference points are more than 5% faster than the model (" + above +
         "): against a speed-of-light prediction, either the model misses something or the run did not do "
         "what its label says (`tpbench explain` tells which)\n";
  return s;
}

}  // namespace tpbench
