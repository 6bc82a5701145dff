#include "harness/commands/recommend_command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness/common/error.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/io/child_process.hpp"
#include "harness/perf/inputs.hpp"
#include "harness/recommend/recommend_json.hpp"
#include "harness/recommend/why.hpp"
#include "harness/recommend/why_experts.hpp"

namespace tpbench {
namespace fs = std::filesystem;

namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

fs::path plot_script() { return fs::path(TPBENCH_SOURCE_DIR) / "scripts" / "plot_recommend.py"; }

// --plot is asked for: what it needs is checked before any work, so a run never ends without it.
void check_plot_possible(const RecommendOptions& o) {
  if (o.plot.empty()) return;
  if (o.plot == o.out) throw UsageError("--plot and --out name the same file '" + o.plot + "'");
  check_writable(o.plot, {o.profile, o.model_config});
  if (!fs::exists(plot_script())) throw UsageError("--plot needs " + plot_script().string() + ", which is missing");
  if (run_quietly({"python3", "-c", "import matplotlib"}) != 0)
    throw UsageError("--plot needs python3 with matplotlib");
}

Targets targets_of(const RecommendOptions& o) {
  Targets t;
  for (double v : {o.ttft_ms, o.tpot_ms, o.min_tok_s_per_user})
    if (!(v >= 0) || !std::isfinite(v)) throw UsageError("latency targets must be positive numbers");
  if (o.tpot_ms > 0 && o.min_tok_s_per_user > 0)
    throw UsageError("give --tpot-ms or --min-tok-s-per-user, not both");
  t.ttft_s = o.ttft_ms / 1e3;
  t.tpot_s = o.tpot_ms / 1e3;
  t.min_tokens_per_user = o.min_tok_s_per_user;
  t.per_user = parse_per_user_metric(o.per_user);
  return t;
}

std::string targets_text(const Targets& t) {
  std::string s;
  if (t.ttft_s > 0) s += "TTFT <= " + fmt("%.4g", t.ttft_s) + " s";
  if (t.tpot_s > 0) s += (s.empty() ? "" : ", ") + ("TPOT <= " + fmt("%.4g", t.tpot_s * 1e3) + " ms");
  if (t.min_tokens_per_user > 0)
    s += (s.empty() ? "" : ", ") + ("tok/s/user >= " + fmt("%.4g", t.min_tokens_per_user));
  return s.empty() ? "none (the highest tok/s/GPU)" : s;
}

void print_sizes(const Recommendation& r, std::ostream& out) {
  out << "instance sizes:";
  for (const SizeCheck& c : r.sizes) {
    out << " " << InstanceSize(c.tp, c.ep).name() << " ";
    if (c.serves) out << "fits (" << c.kv_tokens << " KV tokens)";
    else if (c.prefills) out << "prefill only (" << c.kv_tokens << " KV tokens)";
    else out << "no";
    out << ";";
  }
  out << "\n";
  for (const SizeCheck& c : r.sizes)
    if (!c.serves) out << "  " << InstanceSize(c.tp, c.ep).name() << " cannot serve: " << c.reason << "\n";
}

// Each layout's best point meeting the targets, or why it has none.
// The layout column's width: 18, or the longest name (expert-parallel PD names run longer).
int layout_width(const Recommendation& r) {
  size_t w = 18;
  for (const LayoutOutcome& o : r.layouts) w = std::max(w, o.layout.name().size() + 1);
  return int(w);
}

Table layouts_table(const Recommendation& r, const Targets& t) {
  using NF = NumberFormat;
  Table table;
  table.name = "layouts";
  table.title = "Best point of each layout meeting the targets (ranked by output tok/s over all the GPUs given)";
  table.columns = {Column::words("layout", "layout", layout_width(r)),
                   Column::numbers("gpus", "gpus", NF::integer(), 5),
                   Column::numbers("max_concurrency", "max C", NF::integer(), 7).with_missing("-"),
                   Column::numbers("ttft_s", "ttft s", NF::fixed(3), 9).with_unit("s"),
                   Column::numbers("tpot_ms", "tpot ms", NF::fixed(2), 9).with_unit("ms"),
                   Column::numbers("tok_s_per_gpu", "tok/s/gpu", NF::fixed(2), 10).with_unit("tok/s"),
                   Column::numbers("tok_s_per_user", "tok/s/user", NF::fixed(2), 10).with_unit("tok/s"),
                   Column::words("outcome", "outcome").hidden_in_text(),
                   Column::words("not_runnable_reason", "not runnable").with_missing("").hidden_in_text()};
  for (const LayoutOutcome& o : r.layouts) {
    const ServingPoint* b = o.best();
    const std::string name = o.layout.name();
    if (!o.search.feasible) {
      const std::string& reason = o.search.points.front().reason;
      Row& row = table.add_row({name, o.layout.num_gpus(), Cell::na(), Cell::na(), Cell::na(), Cell::na(), Cell::na(),
                                "not runnable", reason});
      row.text_columns = 0;
      row.text_after = name + ": not runnable: " + reason;
    } else if (!b) {
      Row& row = table.add_row({name, o.layout.num_gpus(), Cell::na(), Cell::na(), Cell::na(), Cell::na(), Cell::na(),
                                "misses the targets", Cell::na()});
      row.text_columns = 3;
      row.text_after = "  misses the targets at C=1";
    } else {
      table.add_row({name, o.layout.num_gpus(), b->concurrency, b->ttft_s, b->tpot_s * 1e3, b->tokens_per_s_per_gpu,
                     per_user_rate(*b, t.per_user), "meets the targets", Cell::na()});
    }
  }
  return table;
}

// Every simulated point on the frontier of tok/s per GPU given against tok/s per user.
Table frontier_table(const Recommendation& r, const Targets& t, int gpus) {
  using NF = NumberFormat;
  Table table;
  table.name = "frontier";
  table.title = "Frontier: tok/s per GPU given against tok/s per user (" + std::string(per_user_name(t.per_user)) + ")";
  table.columns = {Column::numbers("tok_s_per_user", "tok/s/user", NF::fixed(2), 10).with_unit("tok/s"),
                   Column::numbers("tok_s_per_gpu", "tok/s/gpu", NF::fixed(2), 10).with_unit("tok/s"),
                   Column::words("layout", "layout", layout_width(r)).with_gap("  "),
                   Column::numbers("concurrency", "C", NF::integer(), 5),
                   Column::words("meets_targets", "", 0)};
  for (const FrontierPoint& f : r.frontier) {
    const ServingPoint& p = r.point(f);
    const bool meets = meets_targets(p, t);
    table.add_row({per_user_rate(p, t.per_user), p.output_tok_s / gpus, p.layout, p.concurrency,
                   Cell(meets ? "yes" : "no").shown_as(meets ? "meets" : "")});
  }
  return table;
}

void print_layouts(const Recommendation& r, const Targets& t, std::ostream& out) {
  out << "\nbest point of each layout meeting the targets (layouts are ranked by output tok/s over all the GPUs "
         "given; tok/s/gpu is per GPU used):\n";
  print_table(out, TableFormat::Text, layouts_table(r, t));
}

void print_frontier(const Recommendation& r, const Targets& t, int gpus, std::ostream& out) {
  out << "\nfrontier (tok/s per GPU of the " << gpus << " against tok/s/user as " << per_user_name(t.per_user)
      << ", every layout's simulated points):\n";
  print_table(out, TableFormat::Text, frontier_table(r, t, gpus));
}

std::string chosen_line(const char* what, const ServingPoint& p, const Targets& t, int gpus) {
  std::string s = std::string(what) + ": " + p.layout + " at concurrency " + std::to_string(p.concurrency) + ": TTFT " +
                  fmt("%.3f", p.ttft_s) + " s, TPOT " + fmt("%.2f", p.tpot_s * 1e3) + " ms, " +
                  fmt("%.2f", p.tokens_per_s_per_gpu) + " tok/s/GPU, " + fmt("%.2f", per_user_rate(p, t.per_user)) +
                  " tok/s/user";
  if (p.num_gpus < gpus)
    s += " (uses " + std::to_string(p.num_gpus) + " of the " + std::to_string(gpus) + " GPUs: " +
         fmt("%.2f", p.output_tok_s / gpus) + " tok/s per GPU given)";
  return s + "\n";
}

void print_commands(const std::vector<ServingCommand>& cmds, std::ostream& out) {
  out << "\nserving command:\n";
  for (const ServingCommand& c : cmds) {
    if (c.role == ServingRole::Replica)
      out << "  # " << c.instances << " replica(s) of " << c.pool_name()
          << " behind a load-aware router (llm-d's gateway):\n";
    else
      out << "  # llm-d " << serving_role_name(c.role) << " role: replicas " << c.instances << ", each on " << c.tp
          << " GPU(s)" << (c.ep > 1 ? " (" + c.pool_name() + ")" : "") << ":\n";
    if (c.command.empty()) out << "  (no vllm serve command: " << c.not_expressible << ")\n";
    else out << "  " << c.command << "\n";
  }
}

// Breaks of the monotonicity assumption: the first few here, all of them in the document.
void print_notes(const Recommendation& r, bool in_document, std::ostream& out) {
  constexpr size_t kShown = 3;
  size_t n = 0;
  for (const LayoutOutcome& l : r.layouts)
    for (const std::string& note : l.search.monotonicity_notes)
      if (n++ < kShown) out << "note: latency not monotone in concurrency: " << note << "\n";
  if (n > kShown)
    out << "note: " << n - kShown << " more such notes" << (in_document ? " in the --out document" : " (see --out)")
        << "\n";
}

void render_plot(const RecommendOptions& o, const nlohmann::json& doc, std::ostream& out) {
  std::string json_path = o.out;
  const bool temporary = json_path.empty();
  if (temporary) {
    json_path = o.plot + ".recommendation.json";
    write_file_atomic(json_path, doc.dump(1));
  }
  const int rc = run_quietly({"python3", plot_script().string(), "--recommendation=" + json_path, "--out=" + o.plot});
  if (temporary) fs::remove(json_path);
  if (rc != 0 || !fs::exists(o.plot)) throw UsageError("scripts/plot_recommend.py could not write " + o.plot);
  out << "wrote " << o.plot << "\n";
}

// Why the winner wins (or why none does) and the winner's serving commands.
RecommendReport report_of(const Recommendation& r, const RecommendSpec& s, const ModelSpec& m,
                          const std::string& model_config, const SystemProfile& prof, const PerfParams& par) {
  RecommendReport rep;
  if (r.winner >= 0) {
    const ServingPoint& w = *r.layouts[size_t(r.winner)].best();
    rep.why = why_it_wins(r, s.targets, s.gpus, s.max_concurrency);
    for (std::string& line : why_experts(r, m, prof, par, s)) rep.why.push_back(std::move(line));
    rep.serving = serving_commands(r.layouts[size_t(r.winner)].layout, w.concurrency, served_model_id(m, model_config),
                                   s.isl, s.osl, par);
  } else {
    rep.why = why_none_meets(r, s.targets);
  }
  return rep;
}

// --out and --plot; the text form names what it wrote.
void write_documents(const RecommendOptions& o, const nlohmann::json& doc, std::ostream& out) {
  std::ostringstream quiet;
  std::ostream& said = o.format == TableFormat::Text ? out : quiet;
  if (!o.out.empty()) {
    write_file_atomic(o.out, doc.dump(2) + "\n");
    said << "wrote " << o.out << "\n";
  }
  if (!o.plot.empty()) render_plot(o, doc, said);
}

}  // namespace

int run_recommend(const RecommendOptions& o, std::ostream& out, std::ostream& err) {
  if (!o.out.empty()) check_writable(o.out, {o.profile, o.model_config});
  check_plot_possible(o);
  const SystemProfile prof = resolve_profile(o.profile);
  const ModelSpec m = select_model(o.model, o.model_config);
  PerfParams par;
  apply_overrides(par, o.set);
  RecommendSpec s;
  s.gpus = o.gpus;
  s.nvlink_domain = o.gpus_per_node > 0 ? o.gpus_per_node : profile_nvlink_domain(prof);
  s.disaggregated = !o.aggregated_only;
  s.max_concurrency = o.max_concurrency;
  s.isl = o.isl;
  s.osl = o.osl;
  s.prompts_per_user = o.prompts_per_user;
  if (o.kv_link_gbps != 0 && (!(o.kv_link_gbps > 0) || !std::isfinite(o.kv_link_gbps)))
    throw UsageError("--kv-link-gbps must be a positive number of GB/s");
  s.kv_link_bandwidth = o.kv_link_gbps * 1e9;
  s.scheme = parse_scheme(o.plan, o.overlap, o.split_chunks);
  s.targets = targets_of(o);
  s.jobs = o.jobs > 0 ? o.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  if (o.progress)
    s.progress = [&err](int done, int total, const std::string& name) {
      err << "\rrecommend: " << done << "/" << total << " layouts searched (" << name << ")        " << std::flush;
      if (done == total) err << "\n";
    };
  const auto t0 = std::chrono::steady_clock::now();
  const Recommendation r = recommend(m, prof, par, s);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const RecommendReport rep = report_of(r, s, m, o.model_config, prof, par);

  if (o.format != TableFormat::Text) {
    const Table layouts = layouts_table(r, s.targets), frontier = frontier_table(r, s.targets, s.gpus);
    print_tables(out, o.format, {&layouts, &frontier});
    if (!o.out.empty() || !o.plot.empty())
      write_documents(o, recommendation_document(s, m, prof, par, r, rep, o.command_line), out);
    return 0;
  }
  out << "recommend: " << m.name << " on " << s.gpus << " GPU(s) of " << prof.name << " (an instance spans at most "
      << s.nvlink_domain << "), ISL " << s.isl << ", OSL " << s.osl << ", plan " << plan_name(s.scheme.plan)
      << ", overlap " << overlap_name(s.scheme.overlap) << "\ntargets: " << targets_text(s.targets) << "; concurrency searched 1.."
      << s.max_concurrency << "\n";
  print_sizes(r, out);
  print_layouts(r, s.targets, out);
  print_frontier(r, s.targets, s.gpus, out);
  out << "\n";
  if (r.winner >= 0) {
    out << chosen_line("recommended", *r.layouts[size_t(r.winner)].best(), s.targets, s.gpus);
    if (r.runner_up >= 0) out << chosen_line("runner-up", *r.layouts[size_t(r.runner_up)].best(), s.targets, s.gpus);
  } else {
    out << "no layout meets the targets\n";
  }
  out << (r.winner >= 0 ? "why:\n" : "");
  for (const std::string& line : rep.why) out << "  " << line << "\n";
  if (!rep.serving.empty()) print_commands(rep.serving, out);
  print_notes(r, !o.out.empty(), out);
  out << "(" << r.layouts.size() << " layouts searched in " << fmt("%.2f", secs) << " s)\n";
  if (!o.out.empty() || !o.plot.empty())
    write_documents(o, recommendation_document(s, m, prof, par, r, rep, o.command_line), out);
  return 0;
}

}  // namespace tpbench
