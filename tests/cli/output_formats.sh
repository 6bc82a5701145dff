#!/usr/bin/env bash
# --format csv|json|markdown on models, predict, compare, collective, toy and sweep: the JSON parses
# (numbers as numbers, an undefined value as null), the CSV (read by Python's csv module) has the
# JSON's column names as its header and as many fields in every row, the markdown is a table of
# the same width; values agree with the text table and with published model shapes. A bad
# --format exits 2 with one line and writes nothing. Every subcommand's --help ends with its own
# examples.
# Usage: output_formats.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "python3 not found"; exit 77; }
REF="$SRC/results/llmd/llmd_pd_sweep_exact_from_tables.csv"

# check_formats NAME TABLES ARGS...: runs `tpbench ARGS --format F` for csv, json and markdown and
# checks them against each other; TABLES is the number of tables the document must hold. Columns
# named in $VOLATILE (measured times, which differ from run to run) are not compared across runs.
check_formats() {
  local name="$1" tables="$2"
  shift 2
  for f in csv json markdown; do
    "$BIN" "$@" --format "$f" >"$TMP/$name.$f" 2>"$TMP/$name.$f.err" ||
      { echo "FAIL: $name --format $f exited non-zero"; cat "$TMP/$name.$f.err"; fail=1; return; }
  done
  python3 - "$TMP/$name" "$tables" "${VOLATILE:-}" <<'PY' || { echo "FAIL: $name formats"; fail=1; }
import csv, io, json, sys
base, tables, volatile = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
doc = json.load(open(base + ".json"))
assert len(doc["tables"]) == tables, [t["name"] for t in doc["tables"]]
# CSV: one block per table (a "# name" line first when there are several), blank-line separated.
text = open(base + ".csv", newline="").read()
blocks = [b for b in text.split("\r\n\r\n")]
assert len(blocks) == tables, len(blocks)
for t, block in zip(doc["tables"], blocks):
    rows = list(csv.reader(io.StringIO(block, newline="")))
    if tables > 1:
        assert rows[0] == ["# " + t["name"]], rows[0]
        rows = rows[1:]
    names = [c["name"] for c in t["columns"]]
    assert rows[0] == names, (rows[0], names)
    assert len(rows) - 1 == len(t["rows"]) > 0, (len(rows), len(t["rows"]))
    for r, j in zip(rows[1:], t["rows"]):
        assert len(r) == len(names), r
        for value, name in zip(r, names):
            v = j[name]
            if name in volatile:
                assert v is None or float(value) >= 0, (name, value)
            elif v is None:
                assert value == "", (name, value)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                assert float(value) == v, (name, value, v)
            else:
                assert value == v, (name, value, v)
# Markdown: a header, a rule and one line per row, every line as wide as the header.
lines = [l for l in open(base + ".markdown").read().splitlines() if l.startswith("|")]
widths = {l.replace("\\|", "").count("|") for l in lines}
assert len(lines) == sum(len(t["rows"]) + 2 for t in doc["tables"]), len(lines)
for t in doc["tables"]:
    assert len(t["columns"]) + 1 in widths, widths
PY
}

check_formats models 1 models
check_formats predict 1 predict --model llama-3.1-70b --layout 1R-TP1,1R-TP4 --concurrency 1,8 --osl 1
"$BIN" predict --model llama-3.1-70b --layout 1R-TP4 --concurrency 1,8 --out "$TMP/pred.json" >/dev/null
check_formats compare 2 compare --reference "$REF" --predicted "$TMP/pred.json" --points
VOLATILE=time_us,algbw_gb_s,busbw_gb_s check_formats collective 1 collective --ranks 2 --min-bytes 1K --max-bytes 16K --iters 2 --warmup 1
check_formats toy 2 toy --curves "$REF" --configs 1R-TP2,1R-TP4 --points
VOLATILE=step_ms,p10_ms,p90_ms,tok_s_per_user,tok_s_per_gpu,exposed_comm_pct check_formats sweep 1 \
  sweep --backend cpu --model tiny --tp 1,2 --batch 1 --layers 1 --warmup 0 --min-samples 2 --max-samples 2 --no-progress

python3 - "$TMP" <<'PY' || { echo "FAIL: format contents"; fail=1; }
import csv, io, json, sys
tmp = sys.argv[1]
def rows(name):
    return json.load(open(f"{tmp}/{name}.json"))["tables"][0]["rows"]
# Published shapes (Llama 3.1 8B config.json: hidden 4096, 32 layers, 8 KV heads, vocab 128256).
m = {r["model"]: r for r in rows("models")}["llama-3.1-8b"]
assert (m["hidden_size"], m["layers"], m["kv_heads"], m["vocab_size"]) == (4096, 32, 8, 128256), m
assert m["experts"] is None and isinstance(m["kv_bytes_per_token"], int)
# 2 x 80 layers x 8 KV heads x 128 x 2 B = 327680 B per token for Llama 3.1 70B.
assert {r["model"]: r for r in rows("models")}["llama-3.1-70b"]["kv_bytes_per_token"] == 327680
p = rows("predict")
assert [(r["layout"], r["concurrency"]) for r in p] == [("1R-TP1", 1), ("1R-TP1", 8), ("1R-TP4", 1), ("1R-TP4", 8)], p
# 70B in BF16 (141 GB) does not fit one 80 GB GPU: no numbers, a reason; one output token has no TPOT.
assert p[0]["output_tok_s"] is None and p[0]["not_runnable_reason"], p[0]
assert p[2]["tpot_ms"] is None and p[2]["tok_s_per_user_inv_tpot"] is None and p[2]["output_tok_s"] > 0, p[2]
# Collective: nccl-tests sizes doubling from 1 KiB, float elements, an exact sum.
# Sweep: one row per TP, scaled from 1 of the tiny model's 2 layers, said in the flags column.
w = rows("sweep")
assert [(r["tp"], r["batch"], r["status"]) for r in w] == [(1, 1, "ok"), (2, 1, "ok")], w
assert all(r["flags"] == "[1/2 layers, scaled]" and r["step_ms"] > 0 and r["reason"] is None for r in w), w
c = rows("collective")
assert [r["size_bytes"] for r in c] == [1024, 2048, 4096, 8192, 16384], c
assert all(r["count"] * 4 == r["size_bytes"] and r["wrong"] == 0 and r["type"] == "float" for r in c), c
PY

# The JSON agrees with the text table (the text rounds tok/s/GPU to two decimals).
"$BIN" predict --model llama-3.1-70b --layout 1R-TP4 --concurrency 8 >"$TMP/pred.txt"
"$BIN" predict --model llama-3.1-70b --layout 1R-TP4 --concurrency 8 --format json >"$TMP/pred1.json"
python3 - "$TMP/pred.txt" "$TMP/pred1.json" <<'PY' || { echo "FAIL: text and JSON differ"; fail=1; }
import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith("1R-TP4 ")][0].split()
row = json.load(open(sys.argv[2]))["tables"][0]["rows"][0]
assert line[7] == "%.2f" % row["tok_s_per_gpu"], (line, row)
assert line[1] == str(row["concurrency"]), (line, row)
PY

# Bad values: one line, exit 2, no file.
expect_usage_error "$TMP/p.json" predict --layout 1R-TP4 --concurrency 8 --format xml --out "$TMP/p.json"
expect_usage_error "$TMP/none" models --format CSV
# --json prints a command's own document: asking for a table format as well is refused.
expect_usage_error "$TMP/none" models --json --format csv
expect_usage_error "$TMP/none" profile show h100-sxm --format json --json
expect_usage_error "$TMP/c.json" compare --reference "$REF" --predicted "$TMP/pred.json" --format "" --json "$TMP/c.json"
err=$("$BIN" models --format yaml 2>&1 >/dev/null)
grep -q "'yaml' is not a table format (text, csv, json, markdown)" <<<"$err" ||
  { echo "FAIL: the error does not name the formats: $err"; fail=1; }

# Each subcommand's --help ends with examples of that subcommand, and no two end alike.
declare -A last
for cmd in models sweep predict compare fit toy explain recommend collective calibrate "profile show" "profile op"; do
  help=$("$BIN" $cmd --help) || { echo "FAIL: $cmd --help"; fail=1; continue; }
  tail_line=$(grep . <<<"$help" | tail -1)
  examples=$(awk '/^Examples:$/ {n = 0; seen = 1; next} seen && /^  tpbench / {n++; next} seen {seen = 0} END {print n + 0}' <<<"$help")
  if [[ "$tail_line" != "  tpbench $cmd "* || "$examples" -lt 2 ]]; then
    echo "FAIL: '$cmd --help' does not end with its own examples: '$tail_line' ($examples examples)"
    fail=1
  fi
  for other in "${!last[@]}"; do
    [[ "${last[$other]}" == "$tail_line" ]] && { echo "FAIL: '$cmd' and '$other' end alike"; fail=1; }
  done
  last[$cmd]="$tail_line"
done
[[ "${last[predict]}" != "${last[compare]}" ]] || { echo "FAIL: predict and compare help end alike"; fail=1; }
finish
