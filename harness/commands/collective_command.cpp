#include "harness/commands/collective_command.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>

#include <nlohmann/json.hpp>

#include "harness/common/error.hpp"
#include "harness/io/atomic_file.hpp"
#include "harness/io/provenance.hpp"

namespace tpbench {

namespace {

// Per-rank counts for the sizes min, min*f, min*f^2, ... <= max: at least one element per
// rank, consecutive duplicates (sizes that round to the same count) dropped.
std::vector<size_t> sweep_counts(CollectiveKind op, int ranks, int64_t min_bytes, int64_t max_bytes,
                                 double factor) {
  constexpr size_t kMaxSizes = 1000;
  std::vector<size_t> counts;
  double size = static_cast<double>(min_bytes);
  while (size <= static_cast<double>(max_bytes)) {
    size_t count = collective_count_for_size(op, static_cast<size_t>(size), sizeof(float), ranks);
    if (count == 0) count = 1;
    if (counts.empty() || counts.back() != count) counts.push_back(count);
    if (counts.size() > kMaxSizes)
      throw UsageError("--step-factor " + std::to_string(factor) + " gives more than 1000 sizes");
    size = std::max(size + 1, std::floor(size * factor));
  }
  return counts;
}

// Host memory the cpu backend needs at the largest count: every rank's input and output,
// the expected values and at most count elements of the in-process communicator's scratch.
double cpu_bytes_needed(CollectiveKind op, int ranks, size_t count) {
  const CollectiveTraits& t = collective_traits(op);
  const double per_rank = static_cast<double>(t.input_elems(count, ranks) + t.output_elems(count, ranks));
  const double shared = static_cast<double>(collective_expected_elems(op, ranks, count) + count);
  return (per_rank * ranks + shared) * sizeof(float);
}

void check_options(const CollectiveOptions& o) {
  if (o.ranks < 1 || o.ranks > 64) throw UsageError("--ranks must be 1..64, got " + std::to_string(o.ranks));
  if (o.min_bytes <= 0) throw UsageError("--min-bytes must be > 0");
  if (o.max_bytes <= 0) throw UsageError("--max-bytes must be > 0");
  if (o.min_bytes > o.max_bytes)
    throw UsageError("--min-bytes (" + std::to_string(o.min_bytes) + ") is larger than --max-bytes (" +
                     std::to_string(o.max_bytes) + ")");
  if (!(o.step_factor > 1) || !std::isfinite(o.step_factor))
    throw UsageError("--step-factor must be > 1");
  if (o.iters < 1) throw UsageError("--iters must be >= 1");
  if (o.warmup < 0) throw UsageError("--warmup must be >= 0");
  if (o.backend != "cpu" && o.backend != "cuda")
    throw UsageError("unknown backend '" + o.backend + "' (expected cpu or cuda)");
}

std::string row(const char* fmt, auto... args) {
  char line[256];
  std::snprintf(line, sizeof line, fmt, args...);
  return line;
}

// nccl-tests' columns: size and count, then time, algorithm and bus bandwidth, wrong elements.
Table collective_table() {
  using NF = NumberFormat;
  Table t;
  t.name = "collective";
  t.title = "Time, algorithm and bus bandwidth by message size (nccl-tests definitions)";
  t.columns = {Column::numbers("size_bytes", "size", NF::integer(), 12).with_unit("B"),
               Column::numbers("count", "count", NF::integer(), 12).with_unit("elements"),
               Column::words("type", "type", 8, Align::Right),
               Column::words("redop", "redop", 6, Align::Right),
               Column::numbers("time_us", "time", NF::fixed(2), 11).with_unit("us"),
               Column::numbers("algbw_gb_s", "algbw", NF::fixed(3), 11).with_unit("GB/s"),
               Column::numbers("busbw_gb_s", "busbw", NF::fixed(3), 11).with_unit("GB/s"),
               Column::numbers("wrong", "#wrong", NF::integer(), 8)};
  t.text_unit_row = true;
  t.text_header_prefix = "#";
  t.text_row_prefix = " ";
  return t;
}

// The --json document (schema tpbench.collective/1).
nlohmann::ordered_json collective_document(const CollectiveOptions& opt, CollectiveKind op,
                                           const nlohmann::ordered_json& points) {
  nlohmann::ordered_json doc = {{"schema", "tpbench.collective/1"}};
  add_provenance(doc, {opt.command_line, CreationTime::Record});
  doc.update(nlohmann::ordered_json{
      {"op", collective_name(op)}, {"ranks", opt.ranks}, {"backend", opt.backend},
      {"dtype", "float32"}, {"redop", collective_traits(op).nccl_tests_redop}, {"in_place", false},
      {"iters", opt.iters}, {"warmup", opt.warmup}, {"bw_unit", "GB/s (1e9 B/s), nccl-tests definitions"},
      {"points", points}});
  return doc;
}

}  // namespace

int run_collective(const CollectiveOptions& opt, std::ostream& out) {
  const CollectiveKind op = parse_collective_kind(opt.op);
  check_options(opt);
  if (!opt.json.empty()) check_writable(opt.json);  // before any work: a bad path writes nothing

  CollectiveRequest req;
  req.op = op;
  req.ranks = opt.ranks;
  req.counts = sweep_counts(op, opt.ranks, opt.min_bytes, opt.max_bytes, opt.step_factor);
  req.iters = opt.iters;
  req.warmup = opt.warmup;
  req.seed = opt.seed;
  if (!opt.gpus.empty() && opt.backend != "cuda") throw UsageError("--gpus applies to --backend cuda only");
  req.devices = opt.gpus;
  if (opt.backend == "cpu") {
    const double need = cpu_bytes_needed(op, opt.ranks, req.counts.back());
    const double have = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE);
    if (have > 0 && need > 0.5 * have)
      throw UsageError(row("--max-bytes %lld on %d ranks needs %.1f GB of host memory (this machine has %.1f GB)",
                           (long long)opt.max_bytes, opt.ranks, need / 1e9, have / 1e9));
  }

  // Sizes are whole float elements on every rank; a requested size that is not one is measured
  // at the nearest that is, and the user is told (the table's size column shows the sizes run).
  const size_t first = collective_size_bytes(op, req.counts.front(), sizeof(float), opt.ranks);
  const size_t last = collective_size_bytes(op, req.counts.back(), sizeof(float), opt.ranks);
  std::string rounded;
  if (first != size_t(opt.min_bytes) || last > size_t(opt.max_bytes))
    rounded = "tpbench: note: " + std::string(collective_name(op)) + " on " + std::to_string(opt.ranks) +
              " ranks moves whole floats per rank: measuring " + std::to_string(first) + " to " + std::to_string(last) +
              " B for --min-bytes " + std::to_string(opt.min_bytes) + " --max-bytes " + std::to_string(opt.max_bytes) + "\n";
  const char* redop = collective_traits(op).nccl_tests_redop;
  nlohmann::ordered_json points = nlohmann::ordered_json::array();
  int64_t total_wrong = 0;
  double busbw_sum = 0;
  Table table = collective_table();
  const bool text = opt.format == TableFormat::Text;
  // Text rows are printed as they are measured; the other formats print the table at the end.
  auto sink = [&](size_t k, const CollectiveTiming& t) {
    if (k == 0) {  // printed with the first result, so a backend that cannot start prints nothing
      std::cerr << rounded;
      if (text)
        out << "# tpbench collective: " << collective_name(op) << ", " << opt.ranks << " ranks, backend "
            << opt.backend << (opt.backend == "cpu" ? " (in-process threads)" : " (NCCL)") << ", "
            << opt.warmup << " warm-up + " << opt.iters << " timed iterations, out of place\n"
            << text_header_lines(table);
    }
    const size_t count = req.counts[k];
    const size_t size = collective_size_bytes(op, count, sizeof(float), opt.ranks);
    const double alg = algbw(size, t.time_s) / 1e9, bus = busbw(op, size, t.time_s, opt.ranks) / 1e9;
    const Row& r = table.add_row({size, count, "float", redop, t.time_s * 1e6, alg, bus, t.wrong});
    if (text) out << text_row_line(table, r) << std::flush;
    points.push_back({{"size_bytes", size}, {"count", count}, {"time_s", t.time_s},
                      {"algbw", alg}, {"busbw", bus}, {"wrong", t.wrong}});
    total_wrong += t.wrong;
    busbw_sum += bus;
  };
  if (opt.backend == "cpu")
    run_collective_cpu(req, sink);
  else
    run_collective_cuda(req, sink);

  if (text)
    out << "# wrong elements: " << total_wrong << (total_wrong == 0 ? " (all results exact)" : " (FAILED)") << "\n"
        << row("# avg bus bandwidth: %.3f GB/s\n", busbw_sum / static_cast<double>(req.counts.size()));
  else
    print_table(out, opt.format, table);
  if (!opt.json.empty()) write_file_atomic(opt.json, collective_document(opt, op, points).dump(2) + "\n");
  if (total_wrong > 0) {
    std::fprintf(stderr, "tpbench: error: %lld wrong elements in the %s results\n", (long long)total_wrong,
                 collective_name(op));
    return 1;
  }
  return 0;
}

}  // namespace tpbench
