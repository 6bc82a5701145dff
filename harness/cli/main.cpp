// tpbench command line. CLI11 is included here and nowhere else (it costs ~17 s per
// translation unit); each subcommand only fills an options struct and calls run_*().
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "harness/commands/models_command.hpp"
#include "harness/common/error.hpp"
#include "harness/common/parse_number.hpp"
#include "harness/common/text.hpp"
#include "tpbench/version.hpp"
// ---- command headers (one per subcommand) ----
#include "harness/sweep/sweep.hpp"
#include "harness/commands/predict_command.hpp"
#include "harness/commands/profile_command.hpp"
#include "harness/commands/profile_op.hpp"
#include "harness/commands/compare_command.hpp"
#include "harness/commands/fit_command.hpp"
#include "harness/commands/toy_command.hpp"
#include "harness/commands/explain_command.hpp"
#include "harness/commands/recommend_command.hpp"
#include "harness/commands/collective_command.hpp"
#include "harness/commands/calibrate_command.hpp"
#include "harness/perf/perf_params.hpp"

namespace {

constexpr const char* kFooter = R"(Examples:
  tpbench models
  tpbench sweep --backend cpu --model tiny --plan tp --tp 1,2,4 --batch 1,4 --verify --out x.json
  tpbench sweep --model llama-3.1-70b --tp 2,4,8 --batch 1,8,32,64,128,256 --context 11000 --out sweep.json
  tpbench predict --profile h100-sxm --model llama-3.1-70b --layout 1R-TP4 --concurrency 1,8,32 --out pred.json
  tpbench recommend --model llama-3.1-70b --gpus 8 --isl 10000 --osl 1000 --ttft-ms 2000 --tpot-ms 50
Run 'tpbench <command> --help' for a command's options.)";

// A real-valued option: a plain decimal number (not nan, inf or hexadecimal, which CLI11 would
// take) within [lo, hi].
CLI::Validator finite_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        const auto v = tpbench::parse_finite_double(text);
        if (!v) return "'" + text + "' is not a finite decimal number";
        if (*v < lo || *v > hi) return "value " + text + " is not in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
        return "";
      },
      "NUMBER");
}

// An error is one line whatever it quotes (a layout or file name from a file may hold a newline).
std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s;
}

// A count written as plain decimal digits (CLI11 alone would read "0x10" as 16 and "1e5" as an
// error about the range).
const CLI::Validator kDecimal(
    [](std::string& text) -> std::string {
      const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
      return digits ? "" : "'" + text + "' is not a whole number written in decimal digits";
    },
    "INT");

// ISL / OSL: a request of up to ten million tokens (beyond any model's context; the bound keeps
// a typo such as 1e20 from being clamped to the largest integer).
const CLI::Range kTokensRange(int64_t(1), int64_t(10000000), "TOKENS");

// --plan, --overlap, --split-chunks: how the simulated instances run their steps (the cost model
// prices that plan's ops).
void add_scheme_options(CLI::App* cmd, std::string& plan, std::string& overlap, int& split_chunks) {
  cmd->add_option("--plan", plan, "Plan every instance runs: tp, tp-sp or weight-gather")
      ->capture_default_str()
      ->check(CLI::IsMember({"tp", "tp-sp", "weight-gather"}));
  cmd->add_option("--overlap", overlap, "Overlap mode: none, streams or split (split: tp only)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "streams", "split"}));
  cmd->add_option("--split-chunks", split_chunks, "Batch chunks per layer for --overlap split")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
}

// --sweep-context, --sweep-plan, --sweep-overlap: which of a sweep JSON's points stand for
// serving points (compare, fit, toy).
void add_sweep_selection(CLI::App* cmd, tpbench::SweepSelection& sel) {
  cmd->add_option("--sweep-context", sel.context, "Sweep JSON measured at several contexts: use this one")
      ->check(CLI::Range(int64_t(1), int64_t(10000000)));
  cmd->add_option("--sweep-plan", sel.plan, "Sweep JSON: the plan whose points to use (default: tp when measured)")
      ->check(CLI::IsMember({"tp", "tp-sp", "weight-gather"}));
  cmd->add_option("--sweep-overlap", sel.overlap, "Sweep JSON: the overlap whose points to use (default: none when measured)")
      ->check(CLI::IsMember({"none", "streams", "split"}));
}

// --format: how a command prints its tables; the names come from the table library, and the
// value reaches the command as a TableFormat.
CLI::Option* add_format_option(CLI::App* cmd, tpbench::TableFormat& format) {
  std::string list;
  for (const auto& [name, f] : tpbench::table_format_names()) list += (list.empty() ? "" : ", ") + name;
  const CLI::Validator known(
      [list](std::string& text) -> std::string {
        return tpbench::parse_table_format(text) ? "" : "'" + text + "' is not a table format (" + list + ")";
      },
      "FORMAT");
  return cmd->add_option_function<std::string>("--format", [&format](const std::string& text) {
       format = *tpbench::parse_table_format(text);
     }, "Tables as " + list + " (default text)")
      ->check(known)
      ->type_name("FORMAT");
}

}  // namespace

namespace {
// --weight-dtype and --kv-dtype of the commands that choose a model.
void add_precision_options(CLI::App* cmd, std::string& weight_dtype, std::string& kv_dtype) {
  cmd->add_option("--weight-dtype", weight_dtype,
                  "bf16 | fp8: the layers' linear weights (fp8: E4M3, per-tensor scales); default: the model's "
                  "(a config.json's quantization_config)");
  cmd->add_option("--kv-dtype", kv_dtype, "bf16 | fp8: the KV cache (fp8: E4M3, per-tensor scales); default: bf16");
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tpbench: tensor-parallel LLM inference benchmark (sharded GEMMs, decode attention, "
               "collectives) with a performance model and serving simulator"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(tpbench::kVersion) + " (" + tpbench::kGitCommit + ")");

  int rc = 0;
  tpbench::ModelsOptions models_opt;
  auto* models = app.add_subcommand(
      "models", "List the model presets (or a config.json) with total and active parameters, weight and KV bytes");
  models->footer(R"(Examples:
  tpbench models
  tpbench models --format csv > models.csv
  tpbench models --model-config config.json --json)");
  models->add_option("--model-config", models_opt.model_config, "Hugging Face config.json to show instead of the presets");
  auto* models_json = models->add_flag("--json", models_opt.json, "A JSON array of the models (every field) instead of the table");
  add_format_option(models, models_opt.format)->excludes(models_json);
  models->callback([&] { rc = tpbench::run_models(models_opt, std::cout); });

  // ---- core commands (sweep) ----
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);

  tpbench::SweepOptions sw;
  sw.command_line = command_line;
  auto* sweep = app.add_subcommand("sweep", "Measure decode/prefill steps over plan x overlap x TP x batch x context");
  sweep->footer(R"(A point that does not fit in memory is reported as not runnable and the sweep goes on.
Ctrl-C (or SIGTERM, SIGHUP) stops within the current operation; the --out document keeps the
finished points and says "interrupted": true. It says "complete": true once every point ran.

Examples:
  tpbench sweep --backend cpu --model tiny --plan tp --tp 1,2,4 --batch 1,4 --verify --out x.json
  tpbench sweep --backend cuda --model llama-3.1-70b --tp 2,4,8 --batch 1,8,32,64,128,256 --context 11000 --out sweep.json
  tpbench sweep --backend cuda --model llama-3.1-70b --emulate-tp 4 --layers 4 --batch 1,8,64 --verify --format csv)");
  sweep->add_option("--model", sw.model, "Model preset (see 'tpbench models')")->capture_default_str();
  sweep->add_option("--model-config", sw.model_config, "Hugging Face config.json (overrides --model)");
  add_precision_options(sweep, sw.weight_dtype, sw.kv_dtype);
  sweep->add_option("--plan", sw.plans, "Plans: tp, tp-sp, weight-gather (comma list)")->delimiter(',')->capture_default_str();
  sweep->add_option("--overlap", sw.overlaps, "Overlap modes: none, streams, split (comma list)")->delimiter(',')->capture_default_str();
  sweep->add_option("--tp", sw.tp, "Tensor-parallel group sizes (comma list)")->delimiter(',')->capture_default_str();
  sweep->add_option("--ep", sw.ep,
                    "Expert-parallel sizes for mixture-of-experts models (comma list): the experts spread over EP "
                    "groups of TP/EP ranks; each EP runs with every --tp it divides")
      ->delimiter(',')
      ->capture_default_str();
  sweep->add_option("--batch", sw.batch, "Batch sizes = concurrent sequences (comma list)")->delimiter(',')->capture_default_str();
  sweep->add_option("--context", sw.context, "Positions attended after the step (comma list)")->delimiter(',')->capture_default_str();
  sweep->add_option("--phase", sw.phase, "decode (one token per sequence) or prefill (a chunk of prompt tokens)")->capture_default_str();
  sweep->add_option("--chunk", sw.chunk, "Prefill tokens per sequence (0: the whole context)")->capture_default_str()
      ->check(CLI::Range(int64_t(0), int64_t(100000000)));
  sweep->add_option("--layers", sw.layers, "Run only the first L layers and scale to the model's (0: all)")->capture_default_str();
  sweep->add_option("--split-chunks", sw.split_chunks, "Batch chunks per layer for --overlap split")->capture_default_str();
  sweep->add_option_function<std::string>(
           "--backend", [&sw](const std::string& s) { sw.backend.kind = tpbench::parse_backend_kind(s); },
           "auto (the GPUs when usable, else the CPU), cpu or cuda")
      ->default_str(tpbench::backend_kind_name(sw.backend.kind));
  sweep->add_option("--gpus", sw.backend.gpus, "CUDA devices to use (comma list; default 0..TP-1)")->delimiter(',');
  sweep->add_flag("--oversubscribe", sw.backend.oversubscribe, "Allow more ranks than GPUs (NCCL >= 2.30, functional checks only)");
  sweep->add_option("--emulate-tp", sw.backend.emulate_tp, "Run rank 0 of TP=N on one GPU, collective times from --profile")
      ->check(CLI::Range(1, 64));
  sweep->add_option("--profile", sw.backend.profile, "System profile (name or file) for --emulate-tp")->capture_default_str();
  sweep->add_option("--timeout", sw.backend.timeout_s, "Seconds before a stuck collective aborts the run")->capture_default_str()
      ->check(finite_in(0.001, 86400.0));
  sweep->add_flag("--force", sw.force, "Run a CPU sweep estimated to take more than an hour");
  sweep->add_flag("--verify", sw.verify, "Check a reduced step's TP=N logits against the unsharded TP=1 step");
  bool no_exposed = false;
  sweep->add_flag("--no-exposed", no_exposed, "Skip the compute-only / comm-only runs (exposed communication)");
  sweep->add_option("--warmup", sw.sampling.warmup, "Warm-up steps per variant")->capture_default_str();
  sweep->add_option("--min-samples", sw.sampling.min_samples, "Minimum timed steps")->capture_default_str();
  sweep->add_option("--max-samples", sw.sampling.max_samples, "Maximum timed steps")->capture_default_str();
  sweep->add_option("--budget", sw.sampling.budget_s, "Seconds of sampling per variant before giving up on the spread target")->capture_default_str()
      ->check(finite_in(0.001, 86400.0));
  sweep->add_option("--target-spread", sw.sampling.target_spread, "Stop sampling when the median's relative standard error is below this")->capture_default_str()
      ->check(finite_in(0.0, 1.0));
  sweep->add_option("--out", sw.out, "Write the JSON document here (atomically, after every point)");
  add_format_option(sweep, sw.format);
  bool no_progress = false;
  sweep->add_flag("--no-progress", no_progress, "No progress line on stderr");
  sweep->callback([&] {
    sw.exposed = !no_exposed;
    sw.progress = !no_progress;
    rc = tpbench::run_sweep(sw, std::cout);
  });
  // ---- perf commands (profile, predict, compare, fit, explain) ----
  std::string perf_cmdline;
  for (int i = 0; i < argc; ++i) perf_cmdline += (i ? " " : "") + std::string(argv[i]);
  tpbench::ProfileOptions profile_opt;
  auto* profile_cmd = app.add_subcommand("profile", "System profiles (built-in a100-sxm-80gb, h100-sxm, h200-sxm, b200, gb200-nvl72, or a JSON file)");
  profile_cmd->require_subcommand(1);
  profile_cmd->footer(R"(Examples:
  tpbench profile show
  tpbench profile show h100-sxm
  tpbench profile op --gemm 1,1280,8192 --tp 8)");
  auto* profile_show = profile_cmd->add_subcommand("show", "Print a profile's ceilings and collective time tables");
  profile_show->footer(R"(Examples:
  tpbench profile show
  tpbench profile show h100-sxm --format csv
  tpbench profile show h100-sxm --json > profile.json)");
  profile_show->add_option("profile", profile_opt.name, "Built-in name or profile JSON file; none: list the built-ins");
  auto* profile_json = profile_show->add_flag("--json", profile_opt.json, "Print the profile as JSON (the calibrate file format)");
  add_format_option(profile_show, profile_opt.format)->excludes(profile_json);
  profile_show->callback([&] { rc = tpbench::run_profile_show(profile_opt, std::cout); });
  tpbench::ProfileOpOptions op_opt;
  auto* profile_op = profile_cmd->add_subcommand("op", "One op's predicted time on a profile and what bounds it");
  profile_op->add_option("--profile", op_opt.profile, "Built-in name or profile JSON file")->capture_default_str();
  profile_op->add_option("--gemm", op_opt.gemm, "M,N,K: out[M,N] = a[M,K] x w[K,N], BF16");
  profile_op->add_option("--tp", op_opt.tp, "GEMM: use this TP's efficiency table (default: the pooled one)")
      ->check(CLI::Range(0, 1024));
  profile_op->add_option("--collective", op_opt.collective, "all_reduce, all_gather, reduce_scatter or all_to_all");
  profile_op->add_option("--bytes", op_opt.bytes, "Collective size as nccl-tests counts it (suffixes K, M, G)")
      ->transform(CLI::AsSizeValue(false));
  profile_op->add_option("--ranks", op_opt.ranks, "Collective group size")->check(CLI::Range(1, 1024));
  profile_op->add_option("--attention", op_opt.attention, "decode or prefill");
  profile_op->add_option("--batch", op_opt.batch, "Attention: sequences")->capture_default_str()->check(kDecimal);
  profile_op->add_option("--context", op_opt.context, "Attention: positions attended after the step")->check(kDecimal);
  profile_op->add_option("--chunk", op_opt.chunk, "Attention (prefill): new tokens per sequence (default: the context)")
      ->check(kDecimal);
  profile_op->add_option("--heads", op_opt.heads, "Attention: Q,KV,D local query heads, KV heads, head dim (default 64,8,128)");
  profile_op->add_flag("--json", op_opt.json, "Print JSON");
  profile_op->footer(
      "Examples:\n"
      "  tpbench profile op --gemm 1,1280,8192 --tp 8\n"
      "  tpbench profile op --collective all_reduce --bytes 16K --ranks 4\n"
      "  tpbench profile op --attention decode --batch 32 --context 11000 --heads 8,1,128");
  profile_op->callback([&] { rc = tpbench::run_profile_op(op_opt, std::cout); });

  tpbench::PredictOptions predict_opt;
  auto* predict = app.add_subcommand("predict", "Simulate serving curves (tok/s/GPU, tok/s/user) from a system profile");
  predict->footer(R"(Examples:
  tpbench predict --profile h100-sxm --model llama-3.1-70b --layout 1R-TP4,2R-TP2 --concurrency 1,8,32 --out pred.json
  tpbench predict --model llama-3.1-70b --layout '1P-TP4 1D-TP4' --isl 10000 --osl 1000 --format markdown
  tpbench predict --model tiny --layout 1R-TP1,1R-TP2 --concurrency 1,4 --measured sweep.json)");
  predict->add_option("--profile", predict_opt.profile, "Built-in profile or profile JSON file")->capture_default_str();
  predict->add_option("--model", predict_opt.model, "Model preset")->capture_default_str();
  predict->add_option("--model-config", predict_opt.model_config, "Hugging Face config.json (overrides --model)");
  add_precision_options(predict, predict_opt.weight_dtype, predict_opt.kv_dtype);
  predict->add_option("--layout", predict_opt.layouts, "Comma list: kR-TPn or 'aP-TPx bD-TPy'")->capture_default_str();
  predict->add_option("--concurrency", predict_opt.concurrency, "Comma list of concurrencies")->capture_default_str();
  predict->add_option("--isl", predict_opt.isl, "Input tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  predict->add_option("--osl", predict_opt.osl, "Output tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  predict->add_option("--prompts-per-user", predict_opt.prompts_per_user, "Prompts = this x concurrency")
      ->capture_default_str()->check(kDecimal)->check(CLI::Range(1, 1000));
  predict->add_option("--kv-link-gbps", predict_opt.kv_link_gbps, "PD KV link GB/s per rank (default: profile)")
      ->check(finite_in(0.001, 1e6));
  predict->add_option("--set", predict_opt.set, "NAME=VALUE model parameter: " + tpbench::perf_params_help(false));
  predict->add_option("--measured", predict_opt.measured,
                      "Sweep JSON file(s), comma list: step times interpolated from them (roofline where they lack a TP/phase)");
  predict->add_option("--measured-plan", predict_opt.measured_plan, "Sweep plan to use (default: tp)")
      ->check(CLI::IsMember({"tp", "tp-sp", "weight-gather"}));
  predict->add_option("--measured-overlap", predict_opt.measured_overlap, "Sweep overlap to use (default: none)")
      ->check(CLI::IsMember({"none", "streams", "split"}));
  add_scheme_options(predict, predict_opt.plan, predict_opt.overlap, predict_opt.split_chunks);
  predict->add_option("--out", predict_opt.out, "Write the prediction JSON here");
  add_format_option(predict, predict_opt.format);
  predict->callback([&] {
    predict_opt.command_line = perf_cmdline;
    rc = tpbench::run_predict(predict_opt, std::cout);
  });

  tpbench::CompareOptions compare_opt;
  compare_opt.command_line = perf_cmdline;
  auto* compare = app.add_subcommand("compare", "MAPE of tok/s/GPU and tok/s/user: reference vs prediction or sweep");
  compare->footer(R"(Examples:
  tpbench compare --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --predicted pred.json
  tpbench compare --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --predicted sweep.json --points --format csv)");
  compare->add_option("--reference", compare_opt.reference, "Reference CSV (llm-d) or points JSON")->required();
  compare->add_option("--predicted", compare_opt.predicted, "Prediction JSON (tpbench predict) or sweep JSON")->required();
  compare->add_option("--per-user", compare_opt.per_user, "Per-user definition: out_div_conc or inv_tpot (default: the reference's)")
      ->check(CLI::IsMember({"out_div_conc", "inv_tpot"}));
  compare->add_flag("--points", compare_opt.per_point, "Also print every point");
  compare->add_option("--json", compare_opt.json, "Write the comparison JSON here");
  add_format_option(compare, compare_opt.format);
  add_sweep_selection(compare, compare_opt.sweep);
  compare->callback([&] { rc = tpbench::run_compare(compare_opt, std::cout); });

  tpbench::FitOptions fit_opt;
  fit_opt.command_line = perf_cmdline;
  auto* fit = app.add_subcommand("fit", "Fit <= 4 named model parameters on training configs; report held-out error");
  fit->footer(R"(Examples:
  tpbench fit --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --train 1R-TP4,1R-TP8 --params hbm_efficiency,step_overhead_s
  tpbench fit --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --train 1R-TP4 --params hbm_efficiency --json fit.json --format json)");
  fit->add_option("--reference", fit_opt.reference, "Reference CSV (llm-d) or points JSON")->required();
  fit->add_option("--train", fit_opt.train, "Comma list of training configurations")->capture_default_str();
  fit->add_option("--params", fit_opt.params, "Comma list (<= 4) of " + tpbench::perf_params_help(true) +
                                              " (a per-TP one needs a training configuration of TP n)");
  fit->add_option("--profile", fit_opt.profile, "Built-in profile or profile JSON file")->capture_default_str();
  fit->add_option("--model", fit_opt.model, "Model preset")->capture_default_str();
  fit->add_option("--model-config", fit_opt.model_config, "Hugging Face config.json (overrides --model)");
  add_precision_options(fit, fit_opt.weight_dtype, fit_opt.kv_dtype);
  fit->add_option("--isl", fit_opt.isl, "Input tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  fit->add_option("--osl", fit_opt.osl, "Output tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  fit->add_option("--max-evals", fit_opt.max_evals, "Simulator evaluations at most")->capture_default_str()->check(kDecimal)->check(CLI::Range(1, 1000000));
  add_sweep_selection(fit, fit_opt.sweep);
  add_scheme_options(fit, fit_opt.plan, fit_opt.overlap, fit_opt.split_chunks);
  fit->add_flag("--points", fit_opt.per_point, "Also print every held-out point");
  fit->add_option("--json", fit_opt.json, "Write the fit JSON here");
  add_format_option(fit, fit_opt.format);
  fit->callback([&] { rc = tpbench::run_fit(fit_opt, std::cout); });

  tpbench::ToyOptions toy_opt;
  toy_opt.command_line = perf_cmdline;
  auto* toy = app.add_subcommand("toy", "Fit the toy model (tau, alpha: segments AB and BC) to every curve of points files");
  toy->add_option("--curves", toy_opt.curves, "Comma list of points files: llm-d CSV, prediction JSON or sweep JSON")->required();
  toy->add_option("--configs", toy_opt.configs, "Comma list: only these configurations (default: every one)");
  toy->add_option("--tolerance", toy_opt.tolerance, "A point fails when the toy model is off by more than this fraction")
      ->capture_default_str()
      ->check(finite_in(1e-6, 10.0));
  add_sweep_selection(toy, toy_opt.sweep);
  toy->add_flag("--points", toy_opt.per_point, "Also print every point: curve, toy model, error");
  toy->add_option("--json", toy_opt.json, "Write the fits JSON here");
  add_format_option(toy, toy_opt.format);
  toy->footer(
      "Examples:\n"
      "  tpbench toy --curves results/llmd/llmd_pd_sweep_exact_from_tables.csv --configs 1R-TP2,1R-TP4,1R-TP8\n"
      "  tpbench toy --curves results/llmd/llmd_pd_sweep_exact_from_tables.csv,pred.json --configs 1R-TP4 --points");
  toy->callback([&] { rc = tpbench::run_toy(toy_opt, std::cout); });

  tpbench::ExplainOptions explain_opt;
  auto* explain = app.add_subcommand("explain", "Markdown report: why the Pareto curves look as they do, with numbers");
  explain->footer(R"(Examples:
  tpbench explain --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --out explain.md
  tpbench explain --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --latency results/llmd/llmd_pd_sweep_latency_digitized.csv --no-plot)");
  explain->add_option("--reference", explain_opt.reference, "Reference CSV (llm-d)")->required();
  explain->add_option("--latency", explain_opt.latency,
                      "CSV of measured mean TPOT/TTFT per point (e.g. results/llmd/llmd_pd_sweep_latency_digitized.csv): "
                      "adds a model-free Little's-law check of the PD points and sizes each TP's stack cost from TPOT at every concurrency");
  explain->add_option("--profile", explain_opt.profile, "Built-in profile or profile JSON file")->capture_default_str();
  explain->add_option("--model", explain_opt.model, "Model preset")->capture_default_str();
  explain->add_option("--model-config", explain_opt.model_config, "Hugging Face config.json (overrides --model)");
  add_precision_options(explain, explain_opt.weight_dtype, explain_opt.kv_dtype);
  explain->add_option("--isl", explain_opt.isl, "Input tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  explain->add_option("--osl", explain_opt.osl, "Output tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  add_scheme_options(explain, explain_opt.plan, explain_opt.overlap, explain_opt.split_chunks);
  explain->add_option("--out", explain_opt.out, "Write the markdown here (default: stdout)");
  explain->add_flag("!--no-plot", explain_opt.plot, "Do not run scripts/plot_pareto.py");
  explain->callback([&] { rc = tpbench::run_explain(explain_opt, std::cout); });
  tpbench::RecommendOptions rec_opt;
  auto* recommend = app.add_subcommand(
      "recommend", "The best layout and concurrency for a model on N GPUs under latency targets, and its vLLM command");
  recommend->footer(R"(Every aggregated (kR-TPn) and PD (aP-TPx bD-TPy) layout of the GPUs is searched, each instance within
--gpus-per-node; each layout's concurrency is bisected against the targets (latency assumed to rise
with concurrency; points that break this are reported). Exit 2: bad input, or a model that fits no
instance; no layout meeting the targets is a result (exit 0).

Examples:
  tpbench recommend --model llama-3.1-70b --gpus 8 --isl 10000 --osl 1000 --ttft-ms 2000 --tpot-ms 50
  tpbench recommend --model-config config.json --profile profile.json --gpus 16 --min-tok-s-per-user 30 --out rec.json --plot rec.png
  tpbench recommend --model llama-3.1-8b --gpus 4 --isl 2000 --osl 200 --ttft-ms 500 --aggregated-only --format markdown)");
  recommend->add_option("--profile", rec_opt.profile, "Built-in profile or profile JSON file")->capture_default_str();
  recommend->add_option("--model", rec_opt.model, "Model preset")->capture_default_str();
  recommend->add_option("--model-config", rec_opt.model_config, "Hugging Face config.json (overrides --model)");
  recommend->add_option("--gpus", rec_opt.gpus, "GPUs to deploy on")->required()->check(kDecimal)->check(CLI::Range(1, 4096));
  recommend->add_option("--gpus-per-node", rec_opt.gpus_per_node,
                        "Most GPUs one instance may span (one NVLink domain; default: the profile's largest collective group)")
      ->check(kDecimal)->check(CLI::Range(1, 4096));
  recommend->add_option("--isl", rec_opt.isl, "Input tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  recommend->add_option("--osl", rec_opt.osl, "Output tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  recommend->add_option("--ttft-ms", rec_opt.ttft_ms, "Target: mean time to first token at most this (ms)")
      ->check(finite_in(1e-6, 1e9));
  auto* tpot_opt = recommend->add_option("--tpot-ms", rec_opt.tpot_ms, "Target: mean time per output token at most this (ms)")
      ->check(finite_in(1e-6, 1e9));
  recommend->add_option("--min-tok-s-per-user", rec_opt.min_tok_s_per_user, "Target: tok/s per user at least this (see --per-user)")
      ->check(finite_in(1e-6, 1e9))->excludes(tpot_opt);
  recommend->add_option("--per-user", rec_opt.per_user, "Per-user rate of the target and frontier: inv_tpot (1/TPOT) or out_div_conc")
      ->capture_default_str()->check(CLI::IsMember({"inv_tpot", "out_div_conc"}));
  recommend->add_option("--max-concurrency", rec_opt.max_concurrency, "Largest concurrency searched (the whole deployment's)")
      ->capture_default_str()->check(kDecimal)->check(CLI::Range(1, 100000));
  recommend->add_flag("--aggregated-only", rec_opt.aggregated_only, "Leave out the PD layouts");
  recommend->add_option("--prompts-per-user", rec_opt.prompts_per_user, "Prompts = this x concurrency")
      ->capture_default_str()->check(kDecimal)->check(CLI::Range(1, 1000));
  recommend->add_option("--kv-link-gbps", rec_opt.kv_link_gbps, "PD KV link GB/s per rank (default: profile)")
      ->check(finite_in(0.001, 1e6));
  recommend->add_option("--set", rec_opt.set, "NAME=VALUE model parameter, as for predict");
  add_scheme_options(recommend, rec_opt.plan, rec_opt.overlap, rec_opt.split_chunks);
  recommend->add_option("--jobs", rec_opt.jobs, "Layouts simulated at once (default: the hardware threads)")
      ->check(kDecimal)->check(CLI::Range(1, 256));
  bool rec_no_progress = false;
  recommend->add_flag("--no-progress", rec_no_progress, "No progress line on stderr");
  recommend->add_option("--out", rec_opt.out, "Write the recommendation JSON here");
  recommend->add_option("--plot", rec_opt.plot, "Write the frontier plot here (PNG; needs python3 with matplotlib)");
  add_format_option(recommend, rec_opt.format);
  recommend->callback([&] {
    rec_opt.command_line = perf_cmdline;
    rec_opt.progress = !rec_no_progress;
    rc = tpbench::run_recommend(rec_opt, std::cout, std::cerr);
  });
  // ---- micro-benchmark commands (collective, calibrate) ----
  tpbench::CollectiveOptions coll;
  coll.command_line = command_line;
  auto* collective = app.add_subcommand(
      "collective", "nccl-tests-style sweep of one collective over message sizes (time, algbw, busbw, exact check)");
  collective->footer(R"(Examples:
  tpbench collective --op all_reduce --ranks 4 --min-bytes 1K --max-bytes 64M
  tpbench collective --backend cuda --op all_gather --ranks 8 --max-bytes 1G --json all_gather.json
  tpbench collective --ranks 2 --max-bytes 1M --format csv > all_reduce.csv)");
  collective->add_option("--op", coll.op, "all_reduce | all_gather | reduce_scatter | all_to_all")->capture_default_str();
  collective->add_option("--ranks", coll.ranks, "ranks in the group (1..64)")->capture_default_str();
  collective->add_option("--min-bytes", coll.min_bytes, "smallest size, nccl-tests bytes (suffixes K, M, G = 2^10, 2^20, 2^30)")->transform(CLI::AsSizeValue(false))->capture_default_str();
  collective->add_option("--max-bytes", coll.max_bytes, "largest size, nccl-tests bytes (suffixes K, M, G = 2^10, 2^20, 2^30)")->transform(CLI::AsSizeValue(false))->capture_default_str();
  collective->add_option("--step-factor", coll.step_factor, "size multiplier between rows")->capture_default_str();
  collective->add_option("--iters", coll.iters, "timed iterations per size")->capture_default_str();
  collective->add_option("--warmup", coll.warmup, "warm-up iterations per size")->capture_default_str();
  collective->add_option("--backend", coll.backend, "cpu (in-process threads) | cuda (NCCL)")->capture_default_str();
  collective->add_option("--gpus", coll.gpus, "cuda: GPUs to place ranks on (comma list; default all visible)")->delimiter(',');
  collective->add_option("--json", coll.json, "write the results as JSON (schema tpbench.collective/1)");
  add_format_option(collective, coll.format);
  collective->callback([&] { rc = tpbench::run_collective(coll, std::cout); });
  tpbench::CalibrateOptions cal;
  cal.command_line = command_line;
  auto* calibrate = app.add_subcommand(
      "calibrate", "Measure this machine's ceilings (HBM, GEMM, decode attention, NCCL tables) into a system profile");
  calibrate->footer(R"(Fields not measured (and the collective tables when fewer than 2 GPUs are used) come from --base.
The profile written is what predict, recommend and sweep --emulate-tp read through --profile, e.g.
  tpbench predict --profile profile.json --model llama-3.1-70b --layout 1R-TP4 --out pred.json

Examples:
  tpbench calibrate --out results/h100/profile.json
  tpbench calibrate --quick --gpus 0 --base h100-sxm --out profile.json
  tpbench calibrate --model llama-3.1-8b --tp 1,2 --plan tp,weight-gather --out profile-8b.json --format csv)");
  calibrate->add_option("--out", cal.out, "profile JSON to write (tpbench.profile/1)")->required();
  calibrate->add_option("--gpus", cal.gpus, "CUDA devices to use (comma list; default all visible)")->delimiter(',');
  calibrate->add_option("--base", cal.base, "a built-in profile (tpbench profile show lists them) or a profile FILE, for the fields not measured")->capture_default_str();
  calibrate->add_option("--name", cal.name, "profile name (default calibrated-<gpu>)");
  calibrate->add_flag("--quick", cal.quick, "fewer sizes and iterations (under a minute on one GPU)");
  calibrate->add_option("--model", cal.model, "Model preset whose plans' ops are measured")->capture_default_str();
  calibrate->add_option("--model-config", cal.model_config, "Hugging Face config.json (overrides --model)");
  calibrate->add_option("--tp", cal.tps, "TP sizes whose per-rank shapes are measured (comma list)")
      ->delimiter(',')->capture_default_str();
  calibrate->add_option("--plan", cal.plans, "Plans whose ops are measured: tp, tp-sp, weight-gather (comma list)")
      ->delimiter(',')->capture_default_str();
  calibrate->add_option("--min-bytes", cal.min_bytes, "smallest collective size, nccl-tests bytes (suffixes K, M, G; default: the plans' smallest message)")->transform(CLI::AsSizeValue(false))->check(CLI::PositiveNumber);
  calibrate->add_option("--max-bytes", cal.max_bytes, "largest collective size, nccl-tests bytes (suffixes K, M, G; default: the plans' largest)")->transform(CLI::AsSizeValue(false))->check(CLI::PositiveNumber);
  add_format_option(calibrate, cal.format);
  calibrate->callback([&] { rc = tpbench::run_calibrate(cal, std::cout); });

  // Every argument is recorded in the JSON documents (command_line) and most name files that
  // appear there too: JSON holds only UTF-8, so other bytes are refused here, before any work.
  // An empty value (`--out ''`, `--model-config=`) would read as the option not given.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!tpbench::is_valid_utf8(arg)) {
      std::cerr << "tpbench: error: argument " << i << " '" << tpbench::escaped(arg)
                << "' is not valid UTF-8 (tpbench records its arguments in JSON)\n";
      return 2;
    }
    if (arg.empty() || (arg.rfind("--", 0) == 0 && arg.back() == '=')) {
      const bool after_option = arg.empty() && i > 1 && argv[i - 1][0] == '-';
      const std::string what = !arg.empty()      ? tpbench::escaped(arg.substr(0, arg.size() - 1))
                               : after_option ? tpbench::escaped(argv[i - 1])
                                              : "argument " + std::to_string(i);
      std::cerr << "tpbench: error: " << what << ": empty value (give a path or value)\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion&) {
    std::cout << "tpbench " << tpbench::kVersion << " (" << tpbench::kGitCommit << ")\n";
    return 0;
  } catch (const CLI::Success&) {
    return 0;
  } catch (const CLI::ParseError& e) {
    // Any CLI11 parse/validation failure: one line and exit code 2.
    std::string msg = e.what();
    // A first word that is no command reads better named than as "a subcommand is required".
    if (argc > 1 && argv[1][0] != '-' && app.get_subcommands().empty()) {
      bool known = false;
      for (const CLI::App* sub : app.get_subcommands({})) known = known || sub->check_name(argv[1]);
      if (!known) msg = "unknown command '" + std::string(argv[1]) + "'";
    }
    std::cerr << "tpbench: error: " << one_line(msg) << " (see --help)\n";
    return 2;
  } catch (const tpbench::UsageError& e) {
    std::cerr << "tpbench: error: " << one_line(e.what()) << "\n";
    return 2;
  } catch (const tpbench::UnavailableError& e) {
    std::cerr << "tpbench: error: " << one_line(e.what()) << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "tpbench: internal error: " << one_line(e.what()) << "\n";
    return 1;
  }
  return rc;
}
