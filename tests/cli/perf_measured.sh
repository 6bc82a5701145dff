#!/usr/bin/env bash
# predict --measured: a bad sweep file (not JSON, wrong schema, another model, unknown plan)
# exits 2 with one stderr line and writes no file; a good run writes points that say where
# their step times came from (measured at TP1, mixed at TP2 whose sweep has no prefill,
# roofline at TP4 which was not measured).
# Usage: perf_measured.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
SWEEP="$SRC/tests/fixtures/measured_sweep_tiny.json"
P="$TMP/pred.json"


printf '{"schema": "tpbench.result/1", "points": [' >"$TMP/truncated.json"
printf '{"schema": "tpbench.prediction/1", "points": []}' >"$TMP/prediction.json"
ARGS=(predict --model tiny --layout 1R-TP1 --concurrency 1 --isl 600 --osl 20 --out "$P")
expect_usage_error "$P" "${ARGS[@]}" --measured "$TMP/truncated.json"
expect_usage_error "$P" "${ARGS[@]}" --measured "$TMP/prediction.json"
expect_usage_error "$P" "${ARGS[@]}" --measured "$SWEEP,$TMP/truncated.json"
expect_usage_error "$P" "${ARGS[@]}" --measured "$TMP/missing.json"
expect_usage_error "$P" predict --model llama-3.1-70b --layout 1R-TP4 --concurrency 1 --measured "$SWEEP" --out "$P"
expect_usage_error "$P" "${ARGS[@]}" --measured "$SWEEP" --measured-plan weight-gather
expect_usage_error "$P" "${ARGS[@]}" --measured-plan tp

rm -f "$P"
if ! "$BIN" predict --model tiny --layout "1R-TP1,1R-TP2,1R-TP4,1P-TP1 1D-TP2" --concurrency 1,4 --isl 600 --osl 20 \
    --measured "$SWEEP" --out "$P" >"$TMP/stdout" 2>"$TMP/stderr"; then
  echo "FAIL: good predict --measured run failed"; cat "$TMP/stderr"; fail=1
elif ! python3 - "$P" "$SRC/scripts" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
src = {(p["layout"], p["concurrency"]): p["step_time_source"] for p in doc["points"]}
want = {"1R-TP1": "measured", "1R-TP2": "mixed", "1R-TP4": "roofline", "1P-TP1 1D-TP2": "measured"}
bad = [(k, v) for k, v in src.items() if v != want[k[0]]]
assert not bad, bad
assert all("emulated" in p for p in doc["points"])
assert [p["emulated"] for p in doc["points"] if p["layout"] == "1R-TP2"] == [True, True]
assert doc["step_times"]["source"] == "measured" and doc["step_times"]["plan"] == "tp"
sys.path.insert(0, sys.argv[2])
import tpbench_schema
tpbench_schema.validate(doc, "prediction.schema.json")
PY
then
  echo "FAIL: prediction points lack the expected step_time_source"; fail=1
fi
grep -q "step times 1R-TP2: mixed" "$TMP/stdout" || { echo "FAIL: no fallback note on stdout"; cat "$TMP/stdout"; fail=1; }

exit $fail
