// `tpbench explain`, question 2: how firm is the speed-of-light order of TP2 / TP4 / TP8? Every
// input of the profile is moved, one at a time, to each end of the range its source gives
// (profile_variations.hpp) and the aggregated grid is simulated again. The question is which
// conclusions hold whatever the inputs are within those ranges, and which single input decides
// a close call. Nothing here comes from the reference points.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "harness/compare/detail/explain_format.hpp"
#include "harness/compare/explain_report.hpp"
#include "harness/perf/perf_params.hpp"
#include "harness/perf/profile_variations.hpp"
#include "harness/sim/grid.hpp"

namespace tpbench {
namespace {

using detail::fmt;
const auto& feasible_at = detail::feasible_point;

constexpr int kConcurrency[] = {32, 64, 128, 256};

// TP4's lead over TP8 in tok/s/GPU (a fraction; negative: TP8 ahead) at each concurrency, and
// whether TP4 > TP8 > TP2 holds at all of them.
struct OrderRow {
  std::string input, label, range;
  std::vector<double> tp4_lead;  // one per kConcurrency; NaN where a point is missing
  bool order_everywhere = false;
};

OrderRow order_row(const ExplainInputs& in, const SystemProfile& prof) {
  GridSpec g;
  g.isl = in.isl;
  g.osl = in.osl;
  g.layouts = {parse_layout("1R-TP2"), parse_layout("1R-TP4"), parse_layout("1R-TP8")};
  g.concurrency.assign(std::begin(kConcurrency), std::end(kConcurrency));
  const auto pts = simulate_grid(g, in.model, prof, PerfParams{});
  OrderRow r;
  r.order_everywhere = true;
  for (int c : kConcurrency) {
    const ServingPoint *a = feasible_at(pts, "1R-TP2", c), *b = feasible_at(pts, "1R-TP4", c),
                       *d = feasible_at(pts, "1R-TP8", c);
    r.tp4_lead.push_back(b && d ? b->tokens_per_s_per_gpu / d->tokens_per_s_per_gpu - 1 : NAN);
    r.order_everywhere = r.order_everywhere && a && b && d && b->tokens_per_s_per_gpu > d->tokens_per_s_per_gpu &&
                         d->tokens_per_s_per_gpu > a->tokens_per_s_per_gpu;
  }
  return r;
}

std::string lead_cell(double x) { return std::isnan(x) ? "-" : fmt("%+.1f %%", 100 * x); }

}  // namespace

std::string explain_order_sensitivity(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref) {
  const size_t hi = std::size(kConcurrency) - 2;  // C=128
  std::vector<OrderRow> rows;
  OrderRow base = order_row(in, in.profile);
  base.input = "(the profile as given)";
  base.label = "-";
  base.range = "-";
  const auto variations = profile_variations(in.profile);
  // Per input, the end that favours TP4 most at C=128; all of them at once make the corner.
  std::map<std::string, size_t> favours_tp4;
  for (size_t i = 0; i < variations.size(); ++i) {
    const ProfileVariation& v = variations[i];
    SystemProfile p = in.profile;
    v.apply(p);
    OrderRow r = order_row(in, p);
    r.input = v.input;
    r.label = v.label;
    r.range = v.range;
    auto [it, fresh] = favours_tp4.emplace(v.input, i);
    if (!fresh && r.tp4_lead[hi] > rows[it->second].tp4_lead[hi]) it->second = i;
    rows.push_back(std::move(r));
  }
  SystemProfile corner_profile = in.profile;
  std::string corner_label;
  for (const auto& [input, i] : favours_tp4) {
    variations[i].apply(corner_profile);
    corner_label += (corner_label.empty() ? "" : "; ") + input + " " + variations[i].label;
  }
  OrderRow corner = order_row(in, corner_profile);
  corner.input = "**every input at its end that favours TP4 most**";
  corner.label = corner_label;
  corner.range = "the rows above, together";

  std::ostringstream md;
  md << "\n**How firm is the speed-of-light order?** Each input of the profile moved, one at a time, to either end "
        "of the range its source gives (or of an assumed range, where the source gives one figure), and the three "
        "aggregated replicas simulated again. Cells are TP4's lead over TP8 in tok/s/GPU (negative: TP8 ahead); "
        "the last column says whether TP4 > TP8 > TP2 holds at every C shown:\n\n"
     << "| input | value | range from | C=32 | C=64 | C=128 | C=256 | TP4 > TP8 > TP2 at every C |\n"
     << "|---|---|---|---|---|---|---|---|\n";
  auto print = [&](const OrderRow& r) {
    md << "| " << r.input << " | " << r.label << " | " << r.range;
    for (double x : r.tp4_lead) md << " | " << lead_cell(x);
    md << " | " << (r.order_everywhere ? "yes" : "no") << " |\n";
  };
  print(base);
  for (const auto& r : rows) print(r);
  if (!rows.empty()) print(corner);

  // What holds under every variation, and which ones move the close call at high C (nothing to
  // say about it when TP4 or TP8 does not fit this profile at C=128).
  if (std::isnan(base.tp4_lead[hi])) return md.str();
  double lo_lead = base.tp4_lead[hi], hi_lead = base.tp4_lead[hi];
  std::vector<const OrderRow*> flips;
  bool low_c_holds = true;
  int everywhere = base.order_everywhere;
  for (const auto& r : rows) {
    everywhere += r.order_everywhere;
    for (size_t i = hi; i < r.tp4_lead.size(); ++i) {
      if (std::isnan(r.tp4_lead[i])) continue;
      lo_lead = std::min(lo_lead, r.tp4_lead[i]);
      hi_lead = std::max(hi_lead, r.tp4_lead[i]);
    }
    for (size_t i = 0; i < hi; ++i) low_c_holds = low_c_holds && !(r.tp4_lead[i] <= 0) && !std::isnan(r.tp4_lead[i]);
    const bool base_tp4 = base.tp4_lead[hi] > 0, this_tp4 = r.tp4_lead[hi] > 0;
    if (!std::isnan(r.tp4_lead[hi]) && base_tp4 != this_tp4) flips.push_back(&r);
  }
  md << "\nThe order TP4 > TP8 > TP2 holds at every concurrency shown under " << everywhere << " of " << rows.size() + 1
     << " profiles. ";
  md << (low_c_holds ? "At C=32 and 64 TP4 leads TP8 under every variation: there the order is a property of the "
                       "hardware. "
                     : "Even at C=32 and 64 some variation puts TP8 ahead. ");
  const double spread = std::max(std::fabs(lo_lead), std::fabs(hi_lead));
  md << "At C=128 and 256 TP4's lead ranges from " << fmt("%+.1f", 100 * lo_lead) << " % to " << fmt("%+.1f", 100 * hi_lead)
     << " % under one input at a time: ";
  if (flips.empty()) {
    md << "no single input within its range changes who leads there ("
       << (base.tp4_lead[hi] > 0 ? "TP4" : "TP8") << ").";
  } else {
    md << "the leader there changes with ";
    for (size_t i = 0; i < flips.size(); ++i)
      md << (i ? (i + 1 == flips.size() ? " and " : ", ") : "") << flips[i]->input << " = " << flips[i]->label;
    md << ".";
  }
  bool corner_flips = false;
  if (!rows.empty() && !std::isnan(corner.tp4_lead[hi])) {
    corner_flips = (corner.tp4_lead[hi] > 0) != (base.tp4_lead[hi] > 0);
    md << " With every input at once at the end of its range that favours TP4 most, TP4's lead at C=128 is "
       << fmt("%+.1f", 100 * corner.tp4_lead[hi]) << " %"
       << (corner_flips ? " and the leader changes" : " and the leader stays") << ".";
  }
  if (flips.empty() && !corner_flips)
    md << " So at high concurrency the hardware favours " << (base.tp4_lead[hi] > 0 ? "TP4" : "TP8")
       << " whatever its inputs within their ranges, by up to " << fmt("%.0f", 100 * spread) << " %";
  else
    md << " So at high concurrency the hardware puts TP4 and TP8 within " << fmt("%.0f", 100 * spread)
       << " % of each other, and the speed-of-light model cannot order them more firmly than its inputs are known";
  // Against that, how far the measured TP8 is from its speed of light at the same C.
  double e_lo = INFINITY, e_hi = -INFINITY;
  for (size_t i = hi; i < std::size(kConcurrency); ++i) {
    const ServingPoint* p = feasible_at(pts, "1R-TP8", kConcurrency[i]);
    auto m = ref.find({"1R-TP8", kConcurrency[i]});
    if (!p || m == ref.end() || !(p->tokens_per_s_per_gpu > 0)) continue;
    const double e = m->second->tokens_per_s_per_gpu / p->tokens_per_s_per_gpu;
    e_lo = std::min(e_lo, e);
    e_hi = std::max(e_hi, e);
  }
  if (e_lo <= e_hi) {
    md << "; the reference's TP8 runs at " << fmt("%.2f", e_lo) << "-" << fmt("%.2f", e_hi)
       << " of its speed of light there";
    if (1 - e_hi > 2 * spread)
      md << ", a gap far larger than that spread, so its order at high concurrency is set by the serving stack, not "
            "by the hardware";
  }
  md << ".\n";
  return md.str();
}

}  // namespace tpbench
