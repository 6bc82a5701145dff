// `tpbench explain`, question 2: how firm is the speed-of-light order of TP2 / TP4 / TP8? Every
// input of the profile is moved, one at a time, to each end of the range its source gives
// (profile_variations.hpp) and the aggregated grid is simulated again. The question is which
// conclusions hold whatever the inputs are within those ranges, and which single input decides
// a close call. Nothing here comes from the reference points.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "harness/explain/detail/explain_format.hpp"
#include "harness/explain/explain_report.hpp"
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
  g.scheme = in.scheme;
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

// Longer than ~80 lines on purpose: one report section whose paragraphs (the favouring corner,
// what holds under every variation, TP4's lead at high C, the reference at the same C) all read
// the grid of variations simulated at its top; apart, each would take that grid and most of its
// derived rows as arguments.
std::string explain_order_sensitivity(const ExplainInputs& in, const std::vector<ServingPoint>& pts, const RefIndex& ref) {
  const size_t hi = std::size(kConcurrency) - 2;  // C=128
  std::vector<OrderRow> rows;
  OrderRow base = order_row(in, in.profile);
  base.input = "(the profile as given)";
  base.label = "-";
  base.range = "-";
  const auto variations = profile_variations(in.profile);
  // Per input, the variation that favours TP4 most at C=128, if any beats the profile as given;
  // all of them at once make the corner.
  std::map<std::string, size_t> favours_tp4;
  for (size_t i = 0; i < variations.size(); ++i) {
    const ProfileVariation& v = variations[i];
    SystemProfile p = in.profile;
    v.apply(p);
    OrderRow r = order_row(in, p);
    r.input = v.input;
    r.label = v.label;
    r.range = v.range;
    if (r.tp4_lead[hi] > base.tp4_lead[hi]) {
      auto [it, fresh] = favours_tp4.emplace(v.input, i);
      if (!fresh && r.tp4_lead[hi] > rows[it->second].tp4_lead[hi]) it->second = i;
    }
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
        "the last column says whether TP4 > TP8 > TP2 holds at every C shown:\n\n";
  Table table = detail::report_table(
      {"input", "value", "range from", "C=32", "C=64", "C=128", "C=256", "TP4 > TP8 > TP2 at every C"});
  auto print = [&](const OrderRow& r) {
    std::vector<Cell> cells{r.input, r.label, r.range};
    for (double x : r.tp4_lead) cells.push_back(lead_cell(x));
    cells.push_back(r.order_everywhere ? "yes" : "no");
    table.add_row(std::move(cells));
  };
  print(base);
  for (const auto& r : rows) print(r);
  const bool has_corner = !favours_tp4.empty();
  if (has_corner) print(corner);
  md << detail::markdown(table);

  // What holds under every variation, and which ones move the close call at high C (nothing to
  // say about it when TP4 or TP8 does not fit this profile at C=128).
  if (std::isnan(base.tp4_lead[hi])) return md.str();
  std::vector<const OrderRow*> all{&base};
  for (const auto& r : rows) all.push_back(&r);
  int everywhere = 0;
  bool tp4_leads_low_c = true;  // TP4 ahead of TP8 at C=32 and 64 in every row
  for (const OrderRow* r : all) {
    everywhere += r->order_everywhere;
    for (size_t i = 0; i < hi; ++i) tp4_leads_low_c = tp4_leads_low_c && r->tp4_lead[i] > 0;
  }
  // High C: the range of TP4's lead, and the rows whose leader differs from the base's at the
  // same C (C=128 or 256).
  double lo_lead = INFINITY, hi_lead = -INFINITY;
  std::vector<const OrderRow*> flips;
  auto flips_at_high_c = [&](const OrderRow& r) {
    bool f = false;
    for (size_t i = hi; i < r.tp4_lead.size(); ++i)
      if (!std::isnan(r.tp4_lead[i]) && !std::isnan(base.tp4_lead[i]))
        f = f || (r.tp4_lead[i] > 0) != (base.tp4_lead[i] > 0);
    return f;
  };
  for (const OrderRow* r : all) {
    for (size_t i = hi; i < r->tp4_lead.size(); ++i) {
      if (std::isnan(r->tp4_lead[i])) continue;
      lo_lead = std::min(lo_lead, r->tp4_lead[i]);
      hi_lead = std::max(hi_lead, r->tp4_lead[i]);
    }
    if (r != &base && flips_at_high_c(*r)) flips.push_back(r);
  }
  const bool corner_flips = has_corner && flips_at_high_c(corner);
  const bool base_tp4 = base.tp4_lead[hi] > 0;
  md << "\nThe order TP4 > TP8 > TP2 holds at every concurrency shown under " << everywhere << " of " << all.size()
     << " profiles. ";
  md << (tp4_leads_low_c ? "At C=32 and 64 TP4 leads TP8 under every profile: there TP4's lead is a property of the "
                           "hardware. "
                         : "At C=32 and 64 TP8 leads TP4 under at least one profile. ");
  md << "At C=128 and 256 TP4's lead ranges from " << fmt("%+.1f", 100 * lo_lead) << " % to " << fmt("%+.1f", 100 * hi_lead)
     << " % with one input moved at a time: ";
  if (flips.empty()) {
    md << "no single input within its range changes who leads there.";
  } else {
    md << "the leader there changes with ";
    for (size_t i = 0; i < flips.size(); ++i)
      md << (i ? (i + 1 == flips.size() ? " and " : ", ") : "") << flips[i]->input << " = " << flips[i]->label;
    md << ".";
  }
  if (has_corner)
    md << " With every input at once at the end of its range that favours TP4 most, TP4's lead is "
       << fmt("%+.1f", 100 * corner.tp4_lead[hi]) << " % at C=128 and " << fmt("%+.1f", 100 * corner.tp4_lead[hi + 1])
       << " % at C=256" << (corner_flips ? " (another leader than the profile as given)" : "") << ".";
  const bool firm = flips.empty() && !corner_flips;
  if (firm)
    md << " So at high concurrency the hardware favours " << (base_tp4 ? "TP4" : "TP8")
       << " whatever its inputs within their ranges.";
  else
    md << " So at high concurrency the hardware puts TP4 and TP8 within "
       << fmt("%.0f", 100 * std::max(std::fabs(lo_lead), std::fabs(hi_lead)))
       << " % of each other, and the speed-of-light model cannot order them more firmly than its inputs are known.";
  // The reference at the same concurrencies: its leader, and how far its TP8 is from its speed of light.
  int ref_tp4 = 0, ref_n = 0;
  double e_lo = INFINITY, e_hi = -INFINITY;
  for (size_t i = hi; i < std::size(kConcurrency); ++i) {
    const ServingPoint* p = feasible_at(pts, "1R-TP8", kConcurrency[i]);
    auto m8 = ref.find({"1R-TP8", kConcurrency[i]}), m4 = ref.find({"1R-TP4", kConcurrency[i]});
    if (!p || m8 == ref.end() || m4 == ref.end() || !(p->tokens_per_s_per_gpu > 0)) continue;
    ++ref_n;
    ref_tp4 += m4->second->tokens_per_s_per_gpu > m8->second->tokens_per_s_per_gpu;
    const double e = m8->second->tokens_per_s_per_gpu / p->tokens_per_s_per_gpu;
    e_lo = std::min(e_lo, e);
    e_hi = std::max(e_hi, e);
  }
  if (ref_n > 0) {
    md << " The reference has " << (ref_tp4 == ref_n ? "TP4" : ref_tp4 == 0 ? "TP8" : "each") << " ahead there, with its TP8 at "
       << fmt("%.2f", e_lo) << "-" << fmt("%.2f", e_hi) << " of its speed of light";
    const int ref_leader = ref_tp4 == ref_n ? 1 : ref_tp4 == 0 ? -1 : 0, hw_leader = base_tp4 ? 1 : -1;
    if (firm && ref_leader == hw_leader)
      md << ": the same leader as the hardware's.";
    else if (firm && ref_leader == -hw_leader)
      md << ": the other leader, so its order there is the serving stack's, not the hardware's.";
    else if (1 - e_hi > 2 * std::max(std::fabs(lo_lead), std::fabs(hi_lead)))
      md << ", a gap far larger than the hardware's spread, so its order there is set by the serving stack.";
    else
      md << ".";
  }
  md << "\n";
  return md.str();
}

}  // namespace tpbench
