#pragma once
// Step times measured by `tpbench sweep` (schema tpbench.result/1), as tables the serving
// simulator interpolates:
//   decode(tp, batch, context): piecewise linear in batch at each measured context, then
//     piecewise linear in context between measured contexts;
//   prefill(tp, tokens): piecewise linear in the tokens of the step (new_tokens x batch).
// Outside the measured range a lookup is clamped below (a smaller step cannot be much cheaper
// than the smallest one measured: weight streaming sets a floor) and extrapolated linearly
// above from the last segment, never below the last measured value (noise must not make a
// bigger step cheaper). Either way the lookup says it left the measured range.
//
// One (plan, overlap) is used: by default tp/none, the plan vLLM runs; if the documents hold
// exactly one other combination, that one. Several documents merge (e.g. a decode sweep and
// prefill sweeps run one chunk at a time); a point measured twice is averaged.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/model/model_spec.hpp"

namespace tpbench {

struct Lookup {
  double value_s = 0;
  bool outside = false;  // clamped or extrapolated
};

// 1-D piecewise-linear lookup with the clamp-below / extrapolate-above rule. xs ascending,
// distinct, same size as ys, not empty.
Lookup interpolate_linear(const std::vector<double>& xs, const std::vector<double>& ys, double x);

class MeasuredStepTimes {
 public:
  // Reads sweep JSON files. plan / overlap: "" = the default rule above. Throws UsageError
  // (one line) for an unreadable or non-JSON file, a schema other than tpbench.result/1, a
  // malformed point, a model other than `model`, an absent plan/overlap, or no usable point.
  static MeasuredStepTimes from_files(const std::vector<std::string>& paths, const ModelSpec& model,
                                      const std::string& plan = "", const std::string& overlap = "");
  // The same from documents already parsed (names are used in messages only).
  static MeasuredStepTimes from_documents(const std::vector<std::pair<std::string, nlohmann::json>>& docs,
                                          const ModelSpec& model, const std::string& plan = "",
                                          const std::string& overlap = "");

  bool has_decode(int tp) const { return decode_.count(tp) > 0; }
  bool has_prefill(int tp) const { return prefill_.count(tp) > 0; }
  bool decode_emulated(int tp) const { return has_decode(tp) && decode_.at(tp).emulated; }
  bool prefill_emulated(int tp) const { return has_prefill(tp) && prefill_.at(tp).emulated; }

  // Seconds of one decode step of `batch` sequences at mean context `context` (has_decode(tp)).
  Lookup decode_s(int tp, double batch, double context) const;
  // d(decode step time)/d(context) at `batch`, between the extreme measured contexts (0 with
  // one context, never negative): the KV-streaming part of a decode step.
  double decode_context_slope(int tp, double batch) const;
  // Seconds of one prefill step of `tokens` prompt tokens (has_prefill(tp)).
  Lookup prefill_s(int tp, double tokens) const;

  const std::string& plan() const { return plan_; }
  const std::string& overlap() const { return overlap_; }
  // Files, plan/overlap and the measured ranges per TP, for the prediction document.
  nlohmann::json describe() const;

 private:
  struct DecodeTable {
    // context -> (batches ascending, seconds)
    std::map<double, std::pair<std::vector<double>, std::vector<double>>> by_context;
    bool emulated = false;
    int points = 0;
  };
  struct PrefillTable {
    std::vector<double> tokens, seconds;
    bool emulated = false;
    int points = 0;
  };
  std::vector<std::string> files_;
  std::string plan_, overlap_;
  std::map<int, DecodeTable> decode_;
  std::map<int, PrefillTable> prefill_;
};

}  // namespace tpbench
