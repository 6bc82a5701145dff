#!/usr/bin/env bash
# `tpbench toy`: the toy model fitted to a curve built by hand from tau = 20 ms and alpha = 2
# requests per GPU on N = 4 GPUs (knee at C = 8): per-GPU tok/s = min(C, 8) / (0.02 x 4), i.e.
# 12.5 / 50 / 100 at C = 1 / 4 / 8 and 100 beyond. The fit must give those parameters back, a
# curve that bends down after its peak must be reported as failing on BC, and bad input must
# exit 2 with one line and no file.
# Usage: toy.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
J="$TMP/toy.json"

printf 'config,concurrency,thpt_per_gpu\n' >"$TMP/toy.csv"
printf '1R-TP4,1,12.5\n1R-TP4,4,50\n1R-TP4,8,100\n1R-TP4,16,100\n1R-TP4,32,100\n' >>"$TMP/toy.csv"
# Falls to half its peak at C = 64: the flat BC segment cannot follow.
printf '1R-TP8,1,10\n1R-TP8,8,80\n1R-TP8,16,160\n1R-TP8,32,160\n1R-TP8,64,80\n' >>"$TMP/toy.csv"
printf '1R-TP2,8,40\n' >>"$TMP/toy.csv"  # one point: too few to fit
# Flat from its first point (the knee is at or before C = 8: the plateau only) and rising to its
# last (the knee is at or past C = 4: tau only, alpha at least 4 / 8).
printf '2R-TP4,8,40\n2R-TP4,16,40\n2R-TP4,32,40\n1P-TP4 1D-TP4,1,12.5\n1P-TP4 1D-TP4,4,50\n' >>"$TMP/toy.csv"

expect_usage_error "$J" toy --curves "$TMP/nonexistent.csv" --json "$J"
expect_usage_error "$J" toy --curves "," --json "$J"
expect_usage_error "$J" toy --curves "$TMP/toy.csv" --configs 1R-TP3 --json "$J"
expect_usage_error "$J" toy --curves "$TMP/toy.csv" --configs 1R-TP2 --json "$J"
expect_usage_error "$J" toy --curves "$TMP/toy.csv" --tolerance 0 --json "$J"
expect_usage_error "$J" toy --curves "$TMP/toy.csv" --json "$TMP/missing-dir/toy.json"

out=$("$BIN" toy --curves "$TMP/toy.csv" --points --json "$J") || { echo "FAIL: toy run"; fail=1; }
echo "$out"
grep -q "too few points" <<<"$out" || { echo "FAIL: the one-point curve is not named"; fail=1; }
grep -qE '^2R-TP4 .* - +- +<=8.0 +40.0 ' <<<"$out" || { echo "FAIL: the flat curve's bounds are not shown"; fail=1; }
grep -qE '^1P-TP4 1D-TP4 .* 10.00 +>=0.500 +>=4.0 ' <<<"$out" || { echo "FAIL: the rising curve's bounds are not shown"; fail=1; }
python3 - "$J" <<'PY' || fail=1
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"] == "tpbench.toy/1", doc["schema"]
curves = {c["config"]: c for c in doc["sources"][0]["curves"]}
assert set(curves) == {"1R-TP4", "1R-TP8", "1R-TP2", "2R-TP4", "1P-TP4 1D-TP4"}, set(curves)
assert not curves["1R-TP2"]["fitted"] and curves["1R-TP2"]["points_with_throughput"] == 1
flat, rising = curves["2R-TP4"], curves["1P-TP4 1D-TP4"]
assert flat["knee"] == "below_data" and flat["tau_s"] is None and flat["alpha_per_gpu"] is None, flat
assert abs(flat["plateau_tokens_per_s_per_gpu"] - 40) < 0.05 and flat["knee_concurrency"] == 8, flat
assert rising["knee"] == "above_data" and abs(rising["tau_s"] - 0.01) < 1e-5, rising  # 1 / (12.5 x 8)
assert rising["alpha_per_gpu"] == 0.5 and rising["knee_concurrency"] == 4, rising
assert curves["1R-TP4"]["knee"] == "within_data"
c = curves["1R-TP4"]
def near(a, b, rel):
    assert abs(a - b) <= rel * abs(b), (a, b)
near(c["tau_s"], 0.020, 0.01)
near(c["alpha_per_gpu"], 2.0, 0.01)
near(c["knee_concurrency"], 8.0, 0.01)
near(c["plateau_tokens_per_s_per_gpu"], 100.0, 0.01)
assert c["rms_log_error"] < 1e-3, c["rms_log_error"]
# C = 8 is the knee itself: either segment.
assert [p["segment"] for p in c["points"] if p["concurrency"] != 8] == ["AB", "AB", "BC", "BC"], c["points"]
assert not any(p["fails"] for p in c["points"])
# The falling curve: its C = 64 point (80 against a plateau near 160) is off by far more than 20 %.
t = {p["concurrency"]: p for p in curves["1R-TP8"]["points"]}
assert t[64]["fails"] and t[64]["segment"] == "BC" and t[64]["rel_error"] > 0.2, t[64]
print("toy JSON checks passed")
PY
# Any points file: a prediction JSON fits too.
"$BIN" predict --layout 1R-TP4 --concurrency 1,8,32,64 --out "$TMP/pred.json" >/dev/null || { echo "FAIL: predict"; fail=1; }
"$BIN" toy --curves "$TMP/toy.csv,$TMP/pred.json" --configs 1R-TP4 | grep -q "(prediction)" ||
  { echo "FAIL: toy on a prediction"; fail=1; }
finish
