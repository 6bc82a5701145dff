#pragma once
// Small helpers shared by the files that write `tpbench explain`'s markdown.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "harness/report/table.hpp"
#include "harness/sim/serving_sim.hpp"

namespace tpbench::detail {

// One number through a printf format ("%.1f", "%.0f %%"); "n/a" for a value the inputs do
// not define (NaN: a reference without C=1, one TP or a per-user column), as compare prints it.
inline std::string fmt(const char* format, double v) {
  if (!std::isfinite(v)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

// A table of the report, every column left-aligned as markdown shows one by default; a value
// whose precision varies along its column arrives formatted by fmt().
inline Table report_table(const std::vector<std::string>& headers) {
  Table t;
  for (const std::string& h : headers) t.columns.push_back(Column::words(h, h).with_missing(""));
  return t;
}

inline std::string markdown(const Table& t) {
  std::ostringstream s;
  print_table(s, TableFormat::Markdown, t);
  return s.str();
}

// The simulated point of a configuration at a concurrency; null when absent or infeasible.
inline const ServingPoint* feasible_point(const std::vector<ServingPoint>& v, const std::string& cfg, int c) {
  for (const auto& p : v)
    if (p.layout == cfg && p.concurrency == c && p.feasible) return &p;
  return nullptr;
}

// Mean running decode batch of one instance of the point's main pool, time-weighted.
inline double mean_decode_batch(const ServingPoint& p) {
  // Both sums run over the instances: their ratio is already the busy-time mean per instance.
  return p.main.stats.busy_s > 0 ? p.main.stats.decode_seq_s / p.main.stats.busy_s : 0;
}

// "TP4 > TP8 > TP2": the three TPs by descending throughput.
inline std::string tp_order(double tp2, double tp4, double tp8) {
  std::vector<std::pair<double, std::string>> v{{tp2, "TP2"}, {tp4, "TP4"}, {tp8, "TP8"}};
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return v[0].second + " > " + v[1].second + " > " + v[2].second;
}

}  // namespace tpbench::detail
