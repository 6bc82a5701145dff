// tpbench command line. CLI11 is included here and nowhere else (it costs ~17 s per
// translation unit); each subcommand only fills an options struct and calls run_*().
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
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

// --weight-dtype and --kv-dtype of the commands that choose a model.
void add_precision_options(CLI::App* cmd, std::string& weight_dtype, std::string& kv_dtype) {
  cmd->add_option("--weight-dtype", weight_dtype,
                  "bf16 | fp8: the layers' linear weights (fp8: E4M3, per-tensor scales); default: the model's "
                  "(a config.json's quantization_config)");
  cmd->add_option("--kv-dtype", kv_dtype, "bf16 | fp8: the KV cache (fp8: E4M3, per-tensor scales); default: bf16");
}

// Each add_<command>() declares one subcommand. Its options live on the heap, owned by the
// command's callback (CLI11 keeps both in the App), so that the flags bound to them stay valid
// until the callback runs; the callback stores the command's exit code in `rc`.

void add_models(CLI::App& app, int& rc) {
  auto opt = std::make_shared<tpbench::ModelsOptions>();
  auto* models = app.add_subcommand(
      "models", "List the model presets (or a config.json) with total and active parameters, weight and KV bytes");
  models->footer(R"(Examples:
  tpbench models
  tpbench models --format csv > models.csv
  tpbench models --model-config config.json --json)");
  models->add_option("--model-config", opt->model_config, "Hugging Face config.json to show instead of the presets");
  auto* models_json = models->add_flag("--json", opt->json, "A JSON array of the models (every field) instead of the table");
  add_format_option(models, opt->format)->excludes(models_json);
  models->callback([opt, &rc] { rc = tpbench::run_models(*opt, std::cout); });
}

void add_sweep(CLI::App& app, int& rc, const std::string& command_line) {
  auto opt = std::make_shared<tpbench::SweepOptions>();
  opt->command_line = command_line;
  auto* sweep = app.add_subcommand("sweep", "Measure decode/prefill steps over plan x overlap x TP x batch x context");
  sweep->footer(R"(A point that does not fit in memory is reported as not runnable and the sweep goes on.
Ctrl-C (or SIGTERM, SIGHUP) stops within the current operation; the --out document keeps the
finished points and says "interrupted": true. It says "complete": true once every point ran.

Examples:
  tpbench sweep --backend cpu --model tiny --plan tp --tp 1,2,4 --batch 1,4 --verify --out x.json
  tpbench sweep --backend cuda --model llama-3.1-70b --tp 2,4,8 --batch 1,8,32,64,128,256 --context 11000 --out sweep.json
  tpbench sweep --backend cuda --model llama-3.1-70b --emulate-tp 4 --layers 4 --batch 1,8,64 --verify --format csv)");
  sweep->add_option("--model", opt->model, "Model preset (see 'tpbench models')")->capture_default_str();
  sweep->add_option("--model-config", opt->model_config, "Hugging Face config.json (overrides --model)");
  add_precision_options(sweep, opt->weight_dtype, opt->kv_dtype);
  sweep->add_option("--plan", opt->plans, "Plans: tp, tp-sp, weight-gather (comma list)")->delimiter(',')->capture_default_str();
  sweep->add_option("--overlap", opt->overlaps, "Overlap modes: none, streams, split (comma list)")->delimiter(',')->capture_default_str();
  sweep->add_option("--tp", opt->tp, "Tensor-parallel group sizes (comma list)")->delimiter(',')->capture_default_str();
  sweep->add_option("--ep", opt->ep,
                    "Expert-parallel sizes for mixture-of-experts models (comma list): the experts spread over EP "
                    "groups of TP/EP ranks; each EP runs with every --tp it divides")
      ->delimiter(',')
      ->capture_default_str();
  sweep->add_option("--batch", opt->batch, "Batch sizes = concurrent sequences (comma list)")->delimiter(',')->capture_default_str();
  sweep->add_option("--context", opt->context, "Positions attended after the step (comma list)")->delimiter(',')->capture_default_str();
  sweep->add_option("--phase", opt->phase, "decode (one token per sequence) or prefill (a chunk of prompt tokens)")->capture_default_str();
  sweep->add_option("--chunk", opt->chunk, "Prefill tokens per sequence (0: the whole context)")->capture_default_str()
      ->check(CLI::Range(int64_t(0), int64_t(100000000)));
  sweep->add_option("--layers", opt->layers, "Run only the first L layers and scale to the model's (0: all)")->capture_default_str();
  sweep->add_option("--split-chunks", opt->split_chunks, "Batch chunks per layer for --overlap split")->capture_default_str();
  sweep->add_option_function<std::string>(
           "--backend", [opt](const std::string& s) { opt->backend.kind = tpbench::parse_backend_kind(s); },
           "auto (the GPUs when usable, else the CPU), cpu or cuda")
      ->default_str(tpbench::backend_kind_name(opt->backend.kind));
  sweep->add_option("--gpus", opt->backend.gpus, "CUDA devices to use (comma list; default 0..TP-1)")->delimiter(',');
  sweep->add_flag("--oversubscribe", opt->backend.oversubscribe, "Allow more ranks than GPUs (NCCL >= 2.30, functional checks only)");
  sweep->add_option("--emulate-tp", opt->backend.emulate_tp, "Run rank 0 of TP=N on one GPU, collective times from --profile")
      ->check(CLI::Range(1, 64));
  sweep->add_option("--profile", opt->backend.profile, "System profile (name or file) for --emulate-tp")->capture_default_str();
  sweep->add_option("--timeout", opt->backend.timeout_s, "Seconds before a stuck collective aborts the run")->capture_default_str()
      ->check(finite_in(0.001, 86400.0));
  sweep->add_flag("--force", opt->force, "Run a CPU sweep estimated to take more than an hour");
  sweep->add_flag("--verify", opt->verify, "Check a reduced step's TP=N logits against the unsharded TP=1 step");
  auto no_exposed = std::make_shared<bool>(false);
  sweep->add_flag("--no-exposed", *no_exposed, "Skip the compute-only / comm-only runs (exposed communication)");
  sweep->add_option("--warmup", opt->sampling.warmup, "Warm-up steps per variant")->capture_default_str();
  sweep->add_option("--min-samples", opt->sampling.min_samples, "Minimum timed steps")->capture_default_str();
  sweep->add_option("--max-samples", opt->sampling.max_samples, "Maximum timed steps")->capture_default_str();
  sweep->add_option("--budget", opt->sampling.budget_s, "Seconds of sampling per variant before giving up on the spread target")->capture_default_str()
      ->check(finite_in(0.001, 86400.0));
  sweep->add_option("--target-spread", opt->sampling.target_spread, "Stop sampling when the median's relative standard error is below this")->capture_default_str()
      ->check(finite_in(0.0, 1.0));
  sweep->add_option("--out", opt->out, "Write the JSON document here (atomically, after every point)");
  add_format_option(sweep, opt->format);
  auto no_progress = std::make_shared<bool>(false);
  sweep->add_flag("--no-progress", *no_progress, "No progress line on stderr");
  sweep->callback([opt, no_exposed, no_progress, &rc] {
    opt->exposed = !*no_exposed;
    opt->progress = !*no_progress;
    rc = tpbench::run_sweep(*opt, std::cout);
  });
}

void add_profile(CLI::App& app, int& rc) {
  auto profile_opt = std::make_shared<tpbench::ProfileOptions>();
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
  profile_show->add_option("profile", profile_opt->name, "Built-in name or profile JSON file; none: list the built-ins");
  auto* profile_json = profile_show->add_flag("--json", profile_opt->json, "Print the profile as JSON (the calibrate file format)");
  add_format_option(profile_show, profile_opt->format)->excludes(profile_json);
  profile_show->callback([profile_opt, &rc] { rc = tpbench::run_profile_show(*profile_opt, std::cout); });
  auto op_opt = std::make_shared<tpbench::ProfileOpOptions>();
  auto* profile_op = profile_cmd->add_subcommand("op", "One op's predicted time on a profile and what bounds it");
  profile_op->add_option("--profile", op_opt->profile, "Built-in name or profile JSON file")->capture_default_str();
  profile_op->add_option("--gemm", op_opt->gemm, "M,N,K: out[M,N] = a[M,K] x w[K,N], BF16");
  profile_op->add_option("--tp", op_opt->tp, "GEMM: use this TP's efficiency table (default: the pooled one)")
      ->check(CLI::Range(0, 1024));
  profile_op->add_option("--collective", op_opt->collective, "all_reduce, all_gather, reduce_scatter or all_to_all");
  profile_op->add_option("--bytes", op_opt->bytes, "Collective size as nccl-tests counts it (suffixes K, M, G)")
      ->transform(CLI::AsSizeValue(false));
  profile_op->add_option("--ranks", op_opt->ranks, "Collective group size")->check(CLI::Range(1, 1024));
  profile_op->add_option("--attention", op_opt->attention, "decode or prefill");
  profile_op->add_option("--batch", op_opt->batch, "Attention: sequences")->capture_default_str()->check(kDecimal);
  profile_op->add_option("--context", op_opt->context, "Attention: positions attended after the step")->check(kDecimal);
  profile_op->add_option("--chunk", op_opt->chunk, "Attention (prefill): new tokens per sequence (default: the context)")
      ->check(kDecimal);
  profile_op->add_option("--heads", op_opt->heads, "Attention: Q,KV,D local query heads, KV heads, head dim (default 64,8,128)");
  profile_op->add_flag("--json", op_opt->json, "Print JSON");
  profile_op->footer(
      "Examples:\n"
      "  tpbench profile op --gemm 1,1280,8192 --tp 8\n"
      "  tpbench profile op --collective all_reduce --bytes 16K --ranks 4\n"
      "  tpbench profile op --attention decode --batch 32 --context 11000 --heads 8,1,128");
  profile_op->callback([op_opt, &rc] { rc = tpbench::run_profile_op(*op_opt, std::cout); });
}

void add_predict(CLI::App& app, int& rc, const std::string& command_line) {
  auto opt = std::make_shared<tpbench::PredictOptions>();
  opt->command_line = command_line;
  auto* predict = app.add_subcommand("predict", "Simulate serving curves (tok/s/GPU, tok/s/user) from a system profile");
  predict->footer(R"(Examples:
  tpbench predict --profile h100-sxm --model llama-3.1-70b --layout 1R-TP4,2R-TP2 --concurrency 1,8,32 --out pred.json
  tpbench predict --model llama-3.1-70b --layout '1P-TP4 1D-TP4' --isl 10000 --osl 1000 --format markdown
  tpbench predict --model tiny --layout 1R-TP1,1R-TP2 --concurrency 1,4 --measured sweep.json)");
  predict->add_option("--profile", opt->profile, "Built-in profile or profile JSON file")->capture_default_str();
  predict->add_option("--model", opt->model, "Model preset")->capture_default_str();
  predict->add_option("--model-config", opt->model_config, "Hugging Face config.json (overrides --model)");
  add_precision_options(predict, opt->weight_dtype, opt->kv_dtype);
  predict->add_option("--layout", opt->layouts, "Comma list: kR-TPn or 'aP-TPx bD-TPy'")->capture_default_str();
  predict->add_option("--concurrency", opt->concurrency, "Comma list of concurrencies")->capture_default_str();
  predict->add_option("--isl", opt->isl, "Input tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  predict->add_option("--osl", opt->osl, "Output tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  predict->add_option("--prompts-per-user", opt->prompts_per_user, "Prompts = this x concurrency")
      ->capture_default_str()->check(kDecimal)->check(CLI::Range(1, 1000));
  predict->add_option("--kv-link-gbps", opt->kv_link_gbps, "PD KV link GB/s per rank (default: profile)")
      ->check(finite_in(0.001, 1e6));
  predict->add_option("--set", opt->set, "NAME=VALUE model parameter: " + tpbench::perf_params_help(false));
  predict->add_option("--measured", opt->measured,
                      "Sweep JSON file(s), comma list: step times interpolated from them (roofline where they lack a TP/phase)");
  predict->add_option("--measured-plan", opt->measured_plan, "Sweep plan to use (default: tp)")
      ->check(CLI::IsMember({"tp", "tp-sp", "weight-gather"}));
  predict->add_option("--measured-overlap", opt->measured_overlap, "Sweep overlap to use (default: none)")
      ->check(CLI::IsMember({"none", "streams", "split"}));
  add_scheme_options(predict, opt->plan, opt->overlap, opt->split_chunks);
  predict->add_option("--out", opt->out, "Write the prediction JSON here");
  add_format_option(predict, opt->format);
  predict->callback([opt, &rc] { rc = tpbench::run_predict(*opt, std::cout); });
}

void add_compare(CLI::App& app, int& rc, const std::string& command_line) {
  auto opt = std::make_shared<tpbench::CompareOptions>();
  opt->command_line = command_line;
  auto* compare = app.add_subcommand("compare", "MAPE of tok/s/GPU and tok/s/user: reference vs prediction or sweep");
  compare->footer(R"(Examples:
  tpbench compare --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --predicted pred.json
  tpbench compare --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --predicted sweep.json --points --format csv)");
  compare->add_option("--reference", opt->reference, "Reference CSV (llm-d) or points JSON")->required();
  compare->add_option("--predicted", opt->predicted, "Prediction JSON (tpbench predict) or sweep JSON")->required();
  compare->add_option("--per-user", opt->per_user, "Per-user definition: out_div_conc or inv_tpot (default: the reference's)")
      ->check(CLI::IsMember({"out_div_conc", "inv_tpot"}));
  compare->add_flag("--points", opt->per_point, "Also print every point");
  compare->add_option("--json", opt->json, "Write the comparison JSON here");
  add_format_option(compare, opt->format);
  add_sweep_selection(compare, opt->sweep);
  compare->callback([opt, &rc] { rc = tpbench::run_compare(*opt, std::cout); });
}

void add_fit(CLI::App& app, int& rc, const std::string& command_line) {
  auto opt = std::make_shared<tpbench::FitOptions>();
  opt->command_line = command_line;
  auto* fit = app.add_subcommand("fit", "Fit <= 4 named model parameters on training configs; report held-out error");
  fit->footer(R"(Examples:
  tpbench fit --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --train 1R-TP4,1R-TP8 --params hbm_efficiency,step_overhead_s
  tpbench fit --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --train 1R-TP4 --params hbm_efficiency --json fit.json --format json)");
  fit->add_option("--reference", opt->reference, "Reference CSV (llm-d) or points JSON")->required();
  fit->add_option("--train", opt->train, "Comma list of training configurations")->capture_default_str();
  fit->add_option("--params", opt->params, "Comma list (<= 4) of " + tpbench::perf_params_help(true) +
                                              " (a per-TP one needs a training configuration of TP n)");
  fit->add_option("--profile", opt->profile, "Built-in profile or profile JSON file")->capture_default_str();
  fit->add_option("--model", opt->model, "Model preset")->capture_default_str();
  fit->add_option("--model-config", opt->model_config, "Hugging Face config.json (overrides --model)");
  add_precision_options(fit, opt->weight_dtype, opt->kv_dtype);
  fit->add_option("--isl", opt->isl, "Input tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  fit->add_option("--osl", opt->osl, "Output tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  fit->add_option("--max-evals", opt->max_evals, "Simulator evaluations at most")->capture_default_str()->check(kDecimal)->check(CLI::Range(1, 1000000));
  add_sweep_selection(fit, opt->sweep);
  add_scheme_options(fit, opt->plan, opt->overlap, opt->split_chunks);
  fit->add_flag("--points", opt->per_point, "Also print every held-out point");
  fit->add_option("--json", opt->json, "Write the fit JSON here");
  add_format_option(fit, opt->format);
  fit->callback([opt, &rc] { rc = tpbench::run_fit(*opt, std::cout); });
}

void add_toy(CLI::App& app, int& rc, const std::string& command_line) {
  auto opt = std::make_shared<tpbench::ToyOptions>();
  opt->command_line = command_line;
  auto* toy = app.add_subcommand("toy", "Fit the toy model (tau, alpha: segments AB and BC) to every curve of points files");
  toy->add_option("--curves", opt->curves, "Comma list of points files: llm-d CSV, prediction JSON or sweep JSON")->required();
  toy->add_option("--configs", opt->configs, "Comma list: only these configurations (default: every one)");
  toy->add_option("--tolerance", opt->tolerance, "A point fails when the toy model is off by more than this fraction")
      ->capture_default_str()
      ->check(finite_in(1e-6, 10.0));
  add_sweep_selection(toy, opt->sweep);
  toy->add_flag("--points", opt->per_point, "Also print every point: curve, toy model, error");
  toy->add_option("--json", opt->json, "Write the fits JSON here");
  add_format_option(toy, opt->format);
  toy->footer(
      "Examples:\n"
      "  tpbench toy --curves results/llmd/llmd_pd_sweep_exact_from_tables.csv --configs 1R-TP2,1R-TP4,1R-TP8\n"
      "  tpbench toy --curves results/llmd/llmd_pd_sweep_exact_from_tables.csv,pred.json --configs 1R-TP4 --points");
  toy->callback([opt, &rc] { rc = tpbench::run_toy(*opt, std::cout); });
}

void add_explain(CLI::App& app, int& rc) {
  auto opt = std::make_shared<tpbench::ExplainOptions>();
  auto* explain = app.add_subcommand("explain", "Markdown report: why the Pareto curves look as they do, with numbers");
  explain->footer(R"(Examples:
  tpbench explain --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --out explain.md
  tpbench explain --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --latency results/llmd/llmd_pd_sweep_latency_digitized.csv --no-plot)");
  explain->add_option("--reference", opt->reference, "Reference CSV (llm-d)")->required();
  explain->add_option("--latency", opt->latency,
                      "CSV of measured mean TPOT/TTFT per point (e.g. results/llmd/llmd_pd_sweep_latency_digitized.csv): "
                      "adds a model-free Little's-law check of the PD points and sizes each TP's stack cost from TPOT at every concurrency");
  explain->add_option("--profile", opt->profile, "Built-in profile or profile JSON file")->capture_default_str();
  explain->add_option("--model", opt->model, "Model preset")->capture_default_str();
  explain->add_option("--model-config", opt->model_config, "Hugging Face config.json (overrides --model)");
  add_precision_options(explain, opt->weight_dtype, opt->kv_dtype);
  explain->add_option("--isl", opt->isl, "Input tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  explain->add_option("--osl", opt->osl, "Output tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  add_scheme_options(explain, opt->plan, opt->overlap, opt->split_chunks);
  explain->add_option("--out", opt->out, "Write the markdown here (default: stdout)");
  explain->add_flag("!--no-plot", opt->plot, "Do not run scripts/plot_pareto.py");
  explain->callback([opt, &rc] { rc = tpbench::run_explain(*opt, std::cout); });
}

void add_recommend(CLI::App& app, int& rc, const std::string& command_line) {
  auto opt = std::make_shared<tpbench::RecommendOptions>();
  opt->command_line = command_line;
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
  recommend->add_option("--profile", opt->profile, "Built-in profile or profile JSON file")->capture_default_str();
  recommend->add_option("--model", opt->model, "Model preset")->capture_default_str();
  recommend->add_option("--model-config", opt->model_config, "Hugging Face config.json (overrides --model)");
  recommend->add_option("--gpus", opt->gpus, "GPUs to deploy on")->required()->check(kDecimal)->check(CLI::Range(1, 4096));
  recommend->add_option("--gpus-per-node", opt->gpus_per_node,
                        "Most GPUs one instance may span (one NVLink domain; default: the profile's largest collective group)")
      ->check(kDecimal)->check(CLI::Range(1, 4096));
  recommend->add_option("--isl", opt->isl, "Input tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  recommend->add_option("--osl", opt->osl, "Output tokens per request")->capture_default_str()->check(kDecimal)->check(kTokensRange);
  recommend->add_option("--ttft-ms", opt->ttft_ms, "Target: mean time to first token at most this (ms)")
      ->check(finite_in(1e-6, 1e9));
  auto* tpot_opt = recommend->add_option("--tpot-ms", opt->tpot_ms, "Target: mean time per output token at most this (ms)")
      ->check(finite_in(1e-6, 1e9));
  recommend->add_option("--min-tok-s-per-user", opt->min_tok_s_per_user, "Target: tok/s per user at least this (see --per-user)")
      ->check(finite_in(1e-6, 1e9))->excludes(tpot_opt);
  recommend->add_option("--per-user", opt->per_user, "Per-user rate of the target and frontier: inv_tpot (1/TPOT) or out_div_conc")
      ->capture_default_str()->check(CLI::IsMember({"inv_tpot", "out_div_conc"}));
  recommend->add_option("--max-concurrency", opt->max_concurrency, "Largest concurrency searched (the whole deployment's)")
      ->capture_default_str()->check(kDecimal)->check(CLI::Range(1, 100000));
  recommend->add_flag("--aggregated-only", opt->aggregated_only, "Leave out the PD layouts");
  recommend->add_option("--prompts-per-user", opt->prompts_per_user, "Prompts = this x concurrency")
      ->capture_default_str()->check(kDecimal)->check(CLI::Range(1, 1000));
  recommend->add_option("--kv-link-gbps", opt->kv_link_gbps, "PD KV link GB/s per rank (default: profile)")
      ->check(finite_in(0.001, 1e6));
  recommend->add_option("--set", opt->set, "NAME=VALUE model parameter, as for predict");
  add_scheme_options(recommend, opt->plan, opt->overlap, opt->split_chunks);
  recommend->add_option("--jobs", opt->jobs, "Layouts simulated at once (default: the hardware threads)")
      ->check(kDecimal)->check(CLI::Range(1, 256));
  auto rec_no_progress = std::make_shared<bool>(false);
  recommend->add_flag("--no-progress", *rec_no_progress, "No progress line on stderr");
  recommend->add_option("--out", opt->out, "Write the recommendation JSON here");
  recommend->add_option("--plot", opt->plot, "Write the frontier plot here (PNG; needs python3 with matplotlib)");
  add_format_option(recommend, opt->format);
  recommend->callback([opt, rec_no_progress, &rc] {
    opt->progress = !*rec_no_progress;
    rc = tpbench::run_recommend(*opt, std::cout, std::cerr);
  });
}

void add_collective(CLI::App& app, int& rc, const std::string& command_line) {
  auto opt = std::make_shared<tpbench::CollectiveOptions>();
  opt->command_line = command_line;
  auto* collective = app.add_subcommand(
      "collective", "nccl-tests-style sweep of one collective over message sizes (time, algbw, busbw, exact check)");
  collective->footer(R"(Examples:
  tpbench collective --op all_reduce --ranks 4 --min-bytes 1K --max-bytes 64M
  tpbench collective --backend cuda --op all_gather --ranks 8 --max-bytes 1G --json all_gather.json
  tpbench collective --ranks 2 --max-bytes 1M --format csv > all_reduce.csv)");
  collective->add_option("--op", opt->op, "all_reduce | all_gather | reduce_scatter | all_to_all")->capture_default_str();
  collective->add_option("--ranks", opt->ranks, "ranks in the group (1..64)")->capture_default_str();
  collective->add_option("--min-bytes", opt->min_bytes, "smallest size, nccl-tests bytes (suffixes K, M, G = 2^10, 2^20, 2^30)")->transform(CLI::AsSizeValue(false))->capture_default_str();
  collective->add_option("--max-bytes", opt->max_bytes, "largest size, nccl-tests bytes (suffixes K, M, G = 2^10, 2^20, 2^30)")->transform(CLI::AsSizeValue(false))->capture_default_str();
  collective->add_option("--step-factor", opt->step_factor, "size multiplier between rows")->capture_default_str();
  collective->add_option("--iters", opt->iters, "timed iterations per size")->capture_default_str();
  collective->add_option("--warmup", opt->warmup, "warm-up iterations per size")->capture_default_str();
  collective->add_option("--backend", opt->backend, "cpu (in-process threads) | cuda (NCCL)")->capture_default_str();
  collective->add_option("--gpus", opt->gpus, "cuda: GPUs to place ranks on (comma list; default all visible)")->delimiter(',');
  collective->add_option("--json", opt->json, "write the results as JSON (schema tpbench.collective/1)");
  add_format_option(collective, opt->format);
  collective->callback([opt, &rc] { rc = tpbench::run_collective(*opt, std::cout); });
}

void add_calibrate(CLI::App& app, int& rc, const std::string& command_line) {
  auto opt = std::make_shared<tpbench::CalibrateOptions>();
  opt->command_line = command_line;
  auto* calibrate = app.add_subcommand(
      "calibrate", "Measure this machine's ceilings (HBM, GEMM, decode attention, NCCL tables) into a system profile");
  calibrate->footer(R"(Fields not measured (and the collective tables when fewer than 2 GPUs are used) come from --base.
The profile written is what predict, recommend and sweep --emulate-tp read through --profile, e.g.
  tpbench predict --profile profile.json --model llama-3.1-70b --layout 1R-TP4 --out pred.json

Examples:
  tpbench calibrate --out results/h100/profile.json
  tpbench calibrate --quick --gpus 0 --base h100-sxm --out profile.json
  tpbench calibrate --model llama-3.1-8b --tp 1,2 --plan tp,weight-gather --out profile-8b.json --format csv)");
  calibrate->add_option("--out", opt->out, "profile JSON to write (tpbench.profile/1)")->required();
  calibrate->add_option("--gpus", opt->gpus, "CUDA devices to use (comma list; default all visible)")->delimiter(',');
  calibrate->add_option("--base", opt->base, "a built-in profile (tpbench profile show lists them) or a profile FILE, for the fields not measured")->capture_default_str();
  calibrate->add_option("--name", opt->name, "profile name (default calibrated-<gpu>)");
  calibrate->add_flag("--quick", opt->quick, "fewer sizes and iterations (under a minute on one GPU)");
  calibrate->add_option("--model", opt->model, "Model preset whose plans' ops are measured")->capture_default_str();
  calibrate->add_option("--model-config", opt->model_config, "Hugging Face config.json (overrides --model)");
  calibrate->add_option("--tp", opt->tps, "TP sizes whose per-rank shapes are measured (comma list)")
      ->delimiter(',')->capture_default_str();
  calibrate->add_option("--plan", opt->plans, "Plans whose ops are measured: tp, tp-sp, weight-gather (comma list)")
      ->delimiter(',')->capture_default_str();
  calibrate->add_option("--min-bytes", opt->min_bytes, "smallest collective size, nccl-tests bytes (suffixes K, M, G; default: the plans' smallest message)")->transform(CLI::AsSizeValue(false))->check(CLI::PositiveNumber);
  calibrate->add_option("--max-bytes", opt->max_bytes, "largest collective size, nccl-tests bytes (suffixes K, M, G; default: the plans' largest)")->transform(CLI::AsSizeValue(false))->check(CLI::PositiveNumber);
  add_format_option(calibrate, opt->format);
  calibrate->callback([opt, &rc] { rc = tpbench::run_calibrate(*opt, std::cout); });
}

// Every argument is recorded in the JSON documents (command_line) and most name files that
// appear there too: JSON holds only UTF-8, so other bytes are refused here, before any work.
// An empty value (`--out ''`, `--model-config=`) would read as the option not given.
bool arguments_are_recordable(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!tpbench::is_valid_utf8(arg)) {
      std::cerr << "tpbench: error: argument " << i << " '" << tpbench::escaped(arg)
                << "' is not valid UTF-8 (tpbench records its arguments in JSON)\n";
      return false;
    }
    if (arg.empty() || (arg.rfind("--", 0) == 0 && arg.back() == '=')) {
      const bool after_option = arg.empty() && i > 1 && argv[i - 1][0] == '-';
      const std::string what = !arg.empty()      ? tpbench::escaped(arg.substr(0, arg.size() - 1))
                               : after_option ? tpbench::escaped(argv[i - 1])
                                              : "argument " + std::to_string(i);
      std::cerr << "tpbench: error: " << what << ": empty value (give a path or value)\n";
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tpbench: tensor-parallel LLM inference benchmark (sharded GEMMs, decode attention, "
               "collectives) with a performance model and serving simulator"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(tpbench::kVersion) + " (" + tpbench::kGitCommit + ")");

  int rc = 0;
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  add_models(app, rc);
  add_sweep(app, rc, command_line);
  add_profile(app, rc);
  add_predict(app, rc, command_line);
  add_compare(app, rc, command_line);
  add_fit(app, rc, command_line);
  add_toy(app, rc, command_line);
  add_explain(app, rc);
  add_recommend(app, rc, command_line);
  add_collective(app, rc, command_line);
  add_calibrate(app, rc, command_line);

  if (!arguments_are_recordable(argc, argv)) return 2;
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
