// tpbench command line. CLI11 is included here and nowhere else (it costs ~17 s per
// translation unit); each subcommand only fills an options struct and calls run_*().
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "harness/commands/models_command.hpp"
#include "harness/common/error.hpp"
#include "tpbench/version.hpp"
// ---- command headers (one per subcommand) ----
#include "harness/commands/collective_command.hpp"

namespace {

constexpr const char* kFooter = R"(Examples:
  tpbench models
  tpbench sweep --backend cpu --model tiny --plan tp --tp 1,2,4 --batch 1,4 --verify --out x.json
  tpbench sweep --model llama-3.1-70b --tp 2,4,8 --batch 1,8,32,64,128,256 --context 11000 --out sweep.json
  tpbench predict --profile h100-sxm --model llama-3.1-70b --layout 1R-TP4 --concurrency 1,8,32 --out pred.json
Run 'tpbench <command> --help' for a command's options.)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tpbench: tensor-parallel LLM inference benchmark (sharded GEMMs, decode attention, "
               "collectives) with a performance model and serving simulator"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(tpbench::kVersion) + " (" + tpbench::kGitCommit + ")");

  int rc = 0;
  auto* models = app.add_subcommand("models", "List the model presets with parameter count and weight bytes");
  models->callback([&] { rc = tpbench::run_models(std::cout); });

  // ---- core commands (sweep) ----
  // ---- perf commands (profile, predict, compare, fit, explain) ----
  // ---- micro-benchmark commands (collective, calibrate) ----
  tpbench::CollectiveOptions coll;
  auto* collective = app.add_subcommand(
      "collective", "nccl-tests-style sweep of one collective over message sizes (time, algbw, busbw, exact check)");
  collective->add_option("--op", coll.op, "all_reduce | all_gather | reduce_scatter")->capture_default_str();
  collective->add_option("--ranks", coll.ranks, "ranks in the group (1..64)")->capture_default_str();
  collective->add_option("--min-bytes", coll.min_bytes, "smallest size, nccl-tests bytes (suffixes K, M, G = 2^10, 2^20, 2^30)")->transform(CLI::AsSizeValue(false))->capture_default_str();
  collective->add_option("--max-bytes", coll.max_bytes, "largest size, nccl-tests bytes (suffixes K, M, G = 2^10, 2^20, 2^30)")->transform(CLI::AsSizeValue(false))->capture_default_str();
  collective->add_option("--step-factor", coll.step_factor, "size multiplier between rows")->capture_default_str();
  collective->add_option("--iters", coll.iters, "timed iterations per size")->capture_default_str();
  collective->add_option("--warmup", coll.warmup, "warm-up iterations per size")->capture_default_str();
  collective->add_option("--backend", coll.backend, "cpu (in-process threads) | cuda (NCCL)")->capture_default_str();
  collective->add_option("--json", coll.json, "write the results as JSON (schema tpbench.collective/1)");
  collective->callback([&] { rc = tpbench::run_collective(coll, std::cout); });

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
    std::cerr << "tpbench: error: " << msg << " (see --help)\n";
    return 2;
  } catch (const tpbench::UsageError& e) {
    std::cerr << "tpbench: error: " << e.what() << "\n";
    return 2;
  } catch (const tpbench::UnavailableError& e) {
    std::cerr << "tpbench: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "tpbench: internal error: " << e.what() << "\n";
    return 1;
  }
  return rc;
}
