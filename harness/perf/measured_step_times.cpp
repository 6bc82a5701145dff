#include "harness/perf/measured_step_times.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <tuple>

#include "harness/common/error.hpp"
#include "harness/io/json_file.hpp"
#include "harness/model/model_json.hpp"

namespace tpbench {
namespace {

// One usable sweep point, reduced to what the tables need.
struct RawPoint {
  std::string plan, overlap, phase;
  int tp = 0;
  int64_t batch = 0, context = 0, new_tokens = 0;
  double seconds = 0;
  bool emulated = false;
};

struct Mean {
  double sum = 0;
  int n = 0;
  bool emulated = false;
  void add(double v, bool emu) { sum += v; ++n; emulated = emulated || emu; }
  double value() const { return sum / n; }
};

// The sweep must have measured the model being predicted: the same shape, whatever it was
// called (one config.json given as ./c.json or c.json is one model; two models that share a
// name are not).
void check_model(const std::string& name, const nlohmann::json& doc, const ModelSpec& m) {
  if (!doc.contains("model") || !doc["model"].is_object())
    throw UsageError("measured sweep '" + name + "' does not describe its model");
  const auto& jm = doc["model"];
  const std::string measured = jm.contains("name") && jm["name"].is_string() ? jm["name"].get<std::string>() : "?";
  const std::pair<const char*, int64_t> dims[] = {
      {"hidden_size", m.hidden},         {"intermediate_size", m.intermediate}, {"num_hidden_layers", m.layers},
      {"num_attention_heads", m.q_heads}, {"num_key_value_heads", m.kv_heads},  {"head_dim", m.head_dim},
      {"vocab_size", m.vocab}};
  for (const auto& [key, v] : dims) {
    if (!jm.contains(key) || !jm[key].is_number_integer())
      throw UsageError("measured sweep '" + name + "' does not record the model's " + key);
    if (jm[key].get<int64_t>() != v)
      throw UsageError("measured sweep '" + name + "' measured another model ('" + measured + "'): " + key + " " +
                       std::to_string(jm[key].get<int64_t>()) + ", not " + std::to_string(v) +
                       " (pass the --model or --model-config it was measured with)");
  }
  // The experts (and which layers have them) must match: dense documents have none.
  const nlohmann::json experts = m.has_moe_layers() ? moe_to_json(m) : nlohmann::json();
  if ((jm.contains("experts") ? jm["experts"] : nlohmann::json()) != experts)
    throw UsageError("measured sweep '" + name + "' measured another model ('" + measured +
                     "'): its mixture-of-experts layers differ");
  if (jm.contains("tie_word_embeddings") && jm["tie_word_embeddings"].is_boolean() &&
      jm["tie_word_embeddings"].get<bool>() != m.tied_embeddings)
    throw UsageError("measured sweep '" + name + "' measured another model ('" + measured +
                     "'): tie_word_embeddings differs");
  if (!jm.contains("dtype") || !jm["dtype"].is_string() || jm["dtype"].get<std::string>() != dtype_name(m.dtype))
    throw UsageError("measured sweep '" + name + "' measured another model ('" + measured + "'): dtype is not " +
                     dtype_name(m.dtype));
  // Step times measured at one precision say nothing about another's. A document without the
  // dtypes is read as BF16: the cuda backend, whose sweeps are the measured tables, runs BF16 only.
  for (const auto& [key, want] : {std::pair{"weight_dtype", m.weight_dtype}, std::pair{"kv_dtype", m.kv_dtype}}) {
    const std::string got = jm.contains(key) && jm[key].is_string() ? jm[key].get<std::string>() : "bfloat16";
    if (got != dtype_name(want))
      throw UsageError("measured sweep '" + name + "' ran " + key + " " + got + ", not " + dtype_name(want));
  }
}

std::vector<RawPoint> read_points(const std::string& name, const nlohmann::json& doc, const ModelSpec& m) {
  if (!doc.is_object()) throw UsageError("measured sweep '" + name + "' is not a JSON object");
  const std::string schema = doc.contains("schema") && doc["schema"].is_string() ? doc["schema"].get<std::string>() : "";
  if (schema != "tpbench.result/1")
    throw UsageError("measured sweep '" + name + "': schema '" + schema + "' is not tpbench.result/1 (tpbench sweep --out)");
  if (!doc.contains("points") || !doc["points"].is_array())
    throw UsageError("measured sweep '" + name + "' has no 'points' array");
  check_model(name, doc, m);
  std::vector<RawPoint> out;
  size_t i = 0;
  try {
    for (; i < doc["points"].size(); ++i) {
      const auto& p = doc["points"][i];
      if (!p.is_object()) throw UsageError("measured sweep '" + name + "': point " + std::to_string(i) + " is not an object");
      if (p.at("status").get<std::string>() != "ok") continue;  // not runnable / failed: nothing measured
      RawPoint r;
      r.plan = p.at("plan").get<std::string>();
      r.overlap = p.at("overlap").get<std::string>();
      r.phase = p.at("phase").get<std::string>();
      const auto tp = json_whole_number(p.at("tp"), 1, 4096), batch = json_whole_number(p.at("batch"), 1, 10000000),
                 context = json_whole_number(p.at("context"), 1, 100000000),
                 new_tokens = json_whole_number(p.at("new_tokens"), 1, 100000000);
      r.seconds = p.at("step_time_s").at("median").get<double>();
      r.emulated = p.value("emulated", false);
      if (r.phase != "decode" && r.phase != "prefill")
        throw UsageError("measured sweep '" + name + "': point " + std::to_string(i) + " has phase '" + r.phase + "'");
      // A step between a nanosecond and an hour: beyond that a median is a unit error, and
      // interpolating it would print inf or nan.
      if (!tp || !batch || !context || !new_tokens || !(r.seconds >= 1e-9) || r.seconds > 3600)
        throw UsageError("measured sweep '" + name + "': point " + std::to_string(i) +
                         " needs whole numbers tp, batch, context, new_tokens >= 1 (and plausible) and "
                         "step_time_s.median in [1e-9, 3600] s");
      r.tp = int(*tp);
      r.batch = *batch;
      r.context = *context;
      r.new_tokens = *new_tokens;
      out.push_back(r);
    }
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    throw UsageError("measured sweep '" + name + "': malformed point " + std::to_string(i) + " (" + what + ")");
  }
  return out;
}

// Picks the (plan, overlap) to use; see the header for the rule.
std::pair<std::string, std::string> choose(const std::set<std::pair<std::string, std::string>>& have,
                                           const std::string& plan, const std::string& overlap) {
  std::string list;
  for (const auto& [p, o] : have) list += (list.empty() ? "" : ", ") + p + "/" + o;
  std::vector<std::pair<std::string, std::string>> match;
  for (const auto& c : have)
    if ((plan.empty() || c.first == plan) && (overlap.empty() || c.second == overlap)) match.push_back(c);
  if (match.empty())
    throw UsageError("measured sweeps have no points for plan '" + (plan.empty() ? "*" : plan) + "' overlap '" +
                     (overlap.empty() ? "*" : overlap) + "' (they have " + list + ")");
  if (match.size() == 1) return match.front();
  // Several left: tp / none by default (vLLM's plan, no overlap), where the options allow it.
  const std::pair<std::string, std::string> want{plan.empty() ? "tp" : plan, overlap.empty() ? "none" : overlap};
  for (const auto& c : match)
    if (c == want) return c;
  throw UsageError("measured sweeps hold several plan/overlap combinations (" + list +
                   "): choose one with --measured-plan and --measured-overlap");
}

}  // namespace

Lookup interpolate_linear(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
  const size_t n = xs.size();
  if (n == 1) return {ys[0], x != xs[0]};
  if (x < xs[0]) return {ys[0], true};
  if (x > xs[n - 1]) {
    const double slope = (ys[n - 1] - ys[n - 2]) / (xs[n - 1] - xs[n - 2]);
    return {std::max(ys[n - 1], ys[n - 1] + slope * (x - xs[n - 1])), true};
  }
  const size_t hi = size_t(std::lower_bound(xs.begin(), xs.end(), x) - xs.begin());
  if (xs[hi] == x) return {ys[hi], false};
  const size_t lo = hi - 1;
  const double f = (x - xs[lo]) / (xs[hi] - xs[lo]);
  return {ys[lo] + f * (ys[hi] - ys[lo]), false};
}

MeasuredStepTimes MeasuredStepTimes::from_files(const std::vector<std::string>& paths, const ModelSpec& model,
                                                const std::string& plan, const std::string& overlap) {
  std::vector<std::pair<std::string, nlohmann::json>> docs;
  for (const auto& p : paths) docs.emplace_back(p, read_json_file(p));
  return from_documents(docs, model, plan, overlap);
}

MeasuredStepTimes MeasuredStepTimes::from_documents(const std::vector<std::pair<std::string, nlohmann::json>>& docs,
                                                    const ModelSpec& model, const std::string& plan,
                                                    const std::string& overlap) {
  if (docs.empty()) throw UsageError("no measured sweep given");
  MeasuredStepTimes t;
  std::vector<RawPoint> all;
  for (const auto& [name, doc] : docs) {
    t.files_.push_back(name);
    auto pts = read_points(name, doc, model);
    all.insert(all.end(), pts.begin(), pts.end());
  }
  std::set<std::pair<std::string, std::string>> have;
  for (const auto& r : all) have.insert({r.plan, r.overlap});
  if (have.empty()) throw UsageError("measured sweeps have no point with status ok");
  std::tie(t.plan_, t.overlap_) = choose(have, plan, overlap);

  std::map<std::tuple<int, double, double>, Mean> dec;  // (tp, context, batch)
  std::map<std::pair<int, double>, Mean> pre;           // (tp, tokens)
  for (const auto& r : all) {
    if (r.plan != t.plan_ || r.overlap != t.overlap_) continue;
    if (r.phase == "decode") dec[{r.tp, double(r.context), double(r.batch)}].add(r.seconds, r.emulated);
    // Prefill is keyed by the step's tokens only: the engine's chunks start at varying
    // positions, and at serving chunk sizes the GEMMs dominate the attention.
    else pre[{r.tp, double(r.new_tokens * r.batch)}].add(r.seconds, r.emulated);
  }
  for (const auto& [key, m] : dec) {  // map order: batches ascending within (tp, context)
    DecodeTable& d = t.decode_[std::get<0>(key)];
    auto& [b, s] = d.by_context[std::get<1>(key)];
    b.push_back(std::get<2>(key));
    s.push_back(m.value());
    d.emulated = d.emulated || m.emulated;
    d.points += m.n;
  }
  for (const auto& [key, m] : pre) {
    PrefillTable& p = t.prefill_[key.first];
    p.tokens.push_back(key.second);
    p.seconds.push_back(m.value());
    p.emulated = p.emulated || m.emulated;
    p.points += m.n;
  }
  return t;
}

Lookup MeasuredStepTimes::decode_s(int tp, double batch, double context) const {
  const DecodeTable& d = decode_.at(tp);
  std::vector<double> ctx, val;
  bool outside = false;
  for (const auto& [c, bs] : d.by_context) {
    const Lookup l = interpolate_linear(bs.first, bs.second, batch);
    ctx.push_back(c);
    val.push_back(l.value_s);
    outside = outside || l.outside;
  }
  Lookup r = interpolate_linear(ctx, val, context);
  r.outside = r.outside || outside;
  return r;
}

double MeasuredStepTimes::decode_context_slope(int tp, double batch) const {
  const DecodeTable& d = decode_.at(tp);
  if (d.by_context.size() < 2) return 0.0;
  const auto& lo = *d.by_context.begin();
  const auto& hi = *d.by_context.rbegin();
  const double a = interpolate_linear(lo.second.first, lo.second.second, batch).value_s;
  const double b = interpolate_linear(hi.second.first, hi.second.second, batch).value_s;
  return std::max(0.0, (b - a) / (hi.first - lo.first));
}

Lookup MeasuredStepTimes::prefill_s(int tp, double tokens) const {
  const PrefillTable& p = prefill_.at(tp);
  return interpolate_linear(p.tokens, p.seconds, tokens);
}

nlohmann::json MeasuredStepTimes::describe() const {
  nlohmann::json j;
  j["files"] = files_;
  j["plan"] = plan_;
  j["overlap"] = overlap_;
  j["decode"] = nlohmann::json::object();
  for (const auto& [tp, d] : decode_) {
    std::set<double> batches;
    std::vector<double> contexts;
    for (const auto& [c, bs] : d.by_context) {
      contexts.push_back(c);
      batches.insert(bs.first.begin(), bs.first.end());
    }
    j["decode"]["TP" + std::to_string(tp)] = {{"points", d.points}, {"emulated", d.emulated},
                                              {"contexts", contexts}, {"batches", batches}};
  }
  j["prefill"] = nlohmann::json::object();
  for (const auto& [tp, p] : prefill_)
    j["prefill"]["TP" + std::to_string(tp)] = {{"points", p.points}, {"emulated", p.emulated}, {"tokens", p.tokens}};
  return j;
}

}  // namespace tpbench
