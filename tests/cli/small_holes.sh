#!/usr/bin/env bash
# The smaller holes of the adversarial pass: a named pipe as an input, CSV line endings and
# quotes, a per-TP parameter no layout uses, a collective size rounded to whole elements, a CPU
# sweep of hours. Each is refused with one line or said out loud, never silent or endless.
# Usage: small_holes.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
"$BIN" predict --layout 1R-TP4 --concurrency 8 --out "$TMP/p8.json" >/dev/null

# A named pipe nobody writes to: read as empty (refused), never waited on for ever.
mkfifo "$TMP/fifo"
for args in "predict --model-config $TMP/fifo --layout 1R-TP8 --concurrency 1" \
            "compare --reference $TMP/fifo --predicted $TMP/p8.json"; do
  timeout 20 "$BIN" $args >/dev/null 2>&1
  rc=$?
  [[ $rc -eq 2 ]] && echo "ok: FIFO input refused ($args)" || { echo "FAIL: FIFO input -> exit $rc ($args)"; fail=1; }
done
# CSV line endings and quotes: carriage returns alone end lines; a header's trailing comma is no
# column; a quoted line break is named as what it is.
printf 'config,concurrency,thpt_per_gpu\r1R-TP4,8,60\r' >"$TMP/cr.csv"
printf 'config,concurrency,thpt_per_gpu,\n1R-TP4,8,60\n' >"$TMP/header_comma.csv"
for f in cr header_comma; do
  "$BIN" compare --reference "$TMP/$f.csv" --predicted "$TMP/p8.json" >/dev/null 2>"$TMP/$f.err" &&
    echo "ok: $f.csv is read" || { echo "FAIL: $f.csv: $(cat "$TMP/$f.err")"; fail=1; }
done
printf 'config,concurrency,thpt_per_gpu\n"1R-\nTP4",8,60\n' >"$TMP/quoted_nl.csv"
err=$("$BIN" compare --reference "$TMP/quoted_nl.csv" --predicted "$TMP/p8.json" 2>&1 >/dev/null)
[[ "$err" == *"span lines"* ]] && echo "ok: $err" || { echo "FAIL: quoted newline: $err"; fail=1; }

# Told, not silent: a per-TP parameter for a TP no layout runs; a collective size rounded up.
err=$("$BIN" predict --layout 1R-TP4 --concurrency 1 --set step_overhead_tp3_s=0.01 2>&1 >/dev/null)
[[ "$err" == *"warning"*"TP 3"* ]] && echo "ok: $err" || { echo "FAIL: no warning for step_overhead_tp3_s: $err"; fail=1; }
err=$("$BIN" collective --backend cpu --op all_gather --ranks 4 --min-bytes 7 --max-bytes 7 --iters 1 --warmup 0 2>&1 >/dev/null)
[[ "$err" == *"16 B"* ]] && echo "ok: $err" || { echo "FAIL: no note for a rounded collective size: $err"; fail=1; }
# A CPU sweep of hours is refused before it starts, unless --force.
err=$(timeout 120 "$BIN" sweep --backend cpu --model llama-3.1-8b --tp 1 --batch 65536 --out "$TMP/long.json" 2>&1 >/dev/null)
rc=$?
[[ $rc -eq 2 && "$err" == *"--force"* && ! -e "$TMP/long.json" ]] && echo "ok: $err" ||
  { echo "FAIL: a sweep of hours -> exit $rc: $err"; fail=1; }
# Sweep axes given twice: two points under one key.
expect_usage_error "$TMP/s.json" sweep --backend cpu --model tiny --tp 1,1 --batch 1 --out "$TMP/s.json"
expect_usage_error "$TMP/s.json" sweep --backend cpu --model tiny --tp 1 --batch 2,2 --out "$TMP/s.json"
finish
