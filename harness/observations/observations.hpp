#pragma once
// Serving points from any source, in one shape: the llm-d reference CSV, a prediction JSON
// (tpbench predict) or a sweep JSON (tpbench sweep, decode steps: config 1R-TPn, concurrency =
// batch, TPOT = median step time, at one plan, overlap and context: SweepSelection).
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/observations/csv.hpp"
#include "harness/sim/per_user_metric.hpp"

namespace tpbench {

struct Observation {
  std::string config;   // canonical layout name, e.g. "1R-TP4", "2P-TP4 1D-TP8"
  int concurrency = 0;
  int num_gpus = 0;
  double tokens_per_s_per_gpu = std::numeric_limits<double>::quiet_NaN();
  double per_user_out_div_conc = std::numeric_limits<double>::quiet_NaN();
  double per_user_inv_tpot = std::numeric_limits<double>::quiet_NaN();
  bool emulated = false;
  std::string not_runnable;  // a model point that cannot run (does not fit): why; empty when it ran
};

// What kind of file a set of points was read from.
enum class ObservationKind { ReferenceCsv, Prediction, Sweep };
inline constexpr std::array kAllObservationKinds = {ObservationKind::ReferenceCsv, ObservationKind::Prediction,
                                                    ObservationKind::Sweep};
const char* observation_kind_name(ObservationKind k);  // "reference-csv", "prediction", "sweep"
ObservationKind parse_observation_kind(const std::string& s);  // throws UsageError naming an unknown kind

struct ObservationSet {
  std::string origin;  // file name
  ObservationKind kind = ObservationKind::ReferenceCsv;
  // What the source's per-user column means.
  PerUserMetric per_user_def = PerUserMetric::OutDivConc;
  std::string selection;     // sweep: the plan, overlap (and context) its points were taken at
  std::string model;         // JSON documents: the model they are of ("" when not recorded)
  std::vector<Observation> points;
};

// The llm-d CSV: needs columns config, concurrency and either thpt_per_gpu or output_tok_s with
// num_gpus; per-user from thpt_per_user_outdiv_conc (preferred, the plotted definition) or
// thpt_per_user_inv_tpot / mean_tpot_ms. Throws UsageError naming file, line and column.
ObservationSet read_reference_csv(const std::string& path);
// Which of a sweep's decode points stand for the serving points (one per TP and batch): context
// > 0 keeps that context first (0: the only one per (TP, batch); several are refused, naming
// them); then empty plan / overlap mean the one vLLM runs ("tp", "none") when measured, else the
// only one measured (several others are refused, naming them). One selection serves every sweep
// file a command reads.
struct SweepSelection {
  int64_t context = 0;
  std::string plan, overlap;
  bool any() const { return context > 0 || !plan.empty() || !overlap.empty(); }
};
// Throws UsageError when `sel` chooses something but none of `sets` is a sweep (the choice would
// be silently ignored).
void check_selection_used(const SweepSelection& sel, const std::vector<const ObservationSet*>& sets);

// A prediction or sweep JSON document (told apart by "schema"). Throws UsageError.
ObservationSet read_points_json(const std::string& path, const SweepSelection& sel = {});
// The same from a table / document already read (`path` names it in messages).
ObservationSet reference_from_table(const CsvTable& t, const std::string& path);
ObservationSet points_from_json(const nlohmann::json& j, const std::string& path, const SweepSelection& sel = {});
// Either of the above, by file extension (.csv, .json, any case), or else by content (a pipe such
// as /dev/fd/63, another extension): a document starting with '{' is JSON, anything else CSV.
ObservationSet read_observations(const std::string& path, const SweepSelection& sel = {});

// Measured mean TPOT and TTFT (seconds) by (canonical config, concurrency); NaN where one of
// the two was not measured.
using LatencyTable = std::map<std::pair<std::string, int>, std::pair<double, double>>;
// From a CSV with columns config, concurrency, mean_tpot_ms, mean_ttft_ms (llm-d's latency
// files); a blank latency is NaN, a row missing both is skipped. Throws UsageError naming file
// and line.
LatencyTable read_latency_csv(const std::string& path);

// Per-user throughput under a definition; NaN when absent.
double per_user(const Observation& o, PerUserMetric def);

}  // namespace tpbench
