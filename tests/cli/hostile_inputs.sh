#!/usr/bin/env bash
# What an adversarial pass found: arguments that are not UTF-8, empty paths, '-', values given
# twice, one output token, a zero latency, a sweep matched to the model by name, a profile name
# with terminal escapes. Each is refused with one line and exit 2 (or answered honestly), never
# an internal error or a file no other command reads.
# Usage: hostile_inputs.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
REF="$SRC/results/llmd/llmd_pd_sweep_exact_from_tables.csv"
SWEEP="$SRC/tests/fixtures/measured_sweep_tiny.json"
P="$TMP/p.json"
cd "$TMP" || exit 1
"$BIN" predict --layout 1R-TP4 --concurrency 8 --out "$TMP/p8.json" >/dev/null

# Not UTF-8: as an output, an input, a model config, a profile; never "internal error".
bad=$'\xff'
expect_usage_error "$TMP/$bad.json" predict --layout 1R-TP4 --concurrency 1 --out "$TMP/$bad.json"
expect_usage_error "$TMP/s$bad.json" sweep --backend cpu --model tiny --tp 1 --batch 1 --out "$TMP/s$bad.json"
cp "$SRC/tests/fixtures/hf_configs/llama-3.1-8b.json" "$TMP/c$bad.json"
expect_usage_error "$P" predict --model-config "$TMP/c$bad.json" --layout 1R-TP8 --concurrency 1 --out "$P"
expect_usage_error "$TMP/cmp$bad.json" compare --reference "$REF" --predicted "$TMP/p8.json" --json "$TMP/cmp$bad.json"
expect_usage_error "$TMP/t$bad.json" toy --curves "$REF" --json "$TMP/t$bad.json"
expect_usage_error "$P" profile show "h100$bad" --json

# Empty paths and '-' (standard output, which these documents are not written to).
expect_usage_error "$P" predict --layout 1R-TP4 --concurrency 1 --out ''
expect_usage_error "$P" predict --layout 1R-TP4 --concurrency 1 --out=
expect_usage_error "$TMP/s.json" sweep --backend cpu --model-config '' --tp 1 --batch 1 --out "$TMP/s.json"
expect_usage_error "$TMP/-" predict --layout 1R-TP4 --concurrency 1 --out -

# Values given twice: the file would hold two points under one name.
expect_usage_error "$P" predict --layout 1R-TP4,1R-TP4 --concurrency 8 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --concurrency 8,8 --out "$P"
err=$("$BIN" predict --layout 1R-TP4 --concurrency 10000000 2>&1 >/dev/null)
[[ "$err" == *"above 1000000"* ]] && echo "ok: $err" || { echo "FAIL: --concurrency 10000000: $err"; fail=1; }

# One output token: no decode step, so TPOT and 1/TPOT are undefined (null, n/a), not 0.
"$BIN" predict --layout 1R-TP4 --concurrency 8 --osl 1 --out "$P" >"$TMP/osl1.txt" || { echo "FAIL: --osl 1"; fail=1; }
python3 - "$P" <<'PY' || fail=1
import json, sys
pt = json.load(open(sys.argv[1]))["points"][0]
assert pt["tpot_s"] is None and pt["per_user_inv_tpot"] is None, (pt["tpot_s"], pt["per_user_inv_tpot"])
print("ok: --osl 1 writes TPOT and 1/TPOT as null")
PY
grep -q "n/a" "$TMP/osl1.txt" || { echo "FAIL: --osl 1 table shows no n/a"; cat "$TMP/osl1.txt"; fail=1; }

# A latency of zero is no measurement.
printf 'config,concurrency,mean_tpot_ms,mean_ttft_ms\n1R-TP4,8,0,120\n' >"$TMP/lat0.csv"
expect_usage_error "$TMP/e.md" explain --reference "$REF" --latency "$TMP/lat0.csv" --no-plot --out "$TMP/e.md"

# explain and fit print n/a, not nan, for what a reduced reference does not give (one TP, no C=1).
grep -E '^(config|1R-TP4),' "$REF" | awk -F, 'NR == 1 || $10 != 1' >"$TMP/tp4.csv"
"$BIN" explain --reference "$TMP/tp4.csv" --no-plot >"$TMP/e_tp4.md" 2>&1 || { echo "FAIL: explain on one TP"; fail=1; }
if grep -qiw 'nan' "$TMP/e_tp4.md"; then echo "FAIL: explain printed nan"; grep -inw nan "$TMP/e_tp4.md" | head -3; fail=1; else echo "ok: explain prints no nan"; fi

awk -F, 'NR == 1 {print "config,concurrency,thpt_per_gpu"} NR > 1 && ($1 == "1R-TP4" || $1 == "1R-TP8") {print $1 "," $10 "," $12}' \
  "$REF" >"$TMP/no_per_user.csv"
"$BIN" fit --reference "$TMP/no_per_user.csv" --train 1R-TP4 >"$TMP/fit.txt" 2>&1 || { echo "FAIL: fit without per-user"; fail=1; }
if grep -qiw 'nan' "$TMP/fit.txt"; then echo "FAIL: fit printed nan"; grep -inw nan "$TMP/fit.txt" | head -3; fail=1; else echo "ok: fit prints no nan"; fi

# --measured matches the sweep to the model by its dimensions, not its name.
python3 - "$SWEEP" "$TMP/renamed.json" "$TMP/impostor.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = json.loads(json.dumps(d)); r["model"]["name"] = "./tiny-config.json"
json.dump(r, open(sys.argv[2], "w"))
i = json.loads(json.dumps(d)); i["model"]["intermediate_size"] = 1024; i["model"]["vocab_size"] = 2048
json.dump(i, open(sys.argv[3], "w"))
PY
"$BIN" predict --model tiny --layout 1R-TP1 --concurrency 1 --measured "$TMP/renamed.json" >/dev/null 2>&1 &&
  echo "ok: a sweep of the same model under another name is used" ||
  { echo "FAIL: a sweep of the same model under another name was refused"; fail=1; }
expect_usage_error "$P" predict --model tiny --layout 1R-TP1 --concurrency 1 --measured "$TMP/impostor.json" --out "$P"

# A profile whose name would drive the terminal.
"$BIN" profile show h100-sxm --json >"$TMP/prof.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['name']='x\u001b[2Jy'; json.dump(d, open(sys.argv[2], 'w'))" \
  "$TMP/prof.json" "$TMP/esc.json"
expect_usage_error "$P" predict --profile "$TMP/esc.json" --layout 1R-TP4 --concurrency 1 --out "$P"

# explain's plot files get --out's checks before any work, and a failed plot leaves neither.
mkdir "$TMP/rep_pareto.png"
expect_usage_error "$TMP/rep.md" explain --reference "$REF" --out "$TMP/rep.md"
mkdir -p "$TMP/bin"
printf '#!/bin/sh\n[ "$1" = "-c" ] && exit 0\nexit 1\n' >"$TMP/bin/python3"  # matplotlib "found", the plot fails
chmod +x "$TMP/bin/python3"
PATH="$TMP/bin:$PATH" "$BIN" explain --reference "$REF" --out "$TMP/rep2.md" >/dev/null 2>&1 ||
  { echo "FAIL: explain without a plot failed"; fail=1; }
if [[ -e "$TMP/rep2_prediction.json" || -e "$TMP/rep2_pareto.png" || ! -s "$TMP/rep2.md" ]]; then
  echo "FAIL: a failed plot left its files behind (or no report)"; ls "$TMP"; fail=1
else
  echo "ok: a failed plot leaves no files, the report is written"
fi
finish
