#!/usr/bin/env bash
# `tpbench calibrate`: bad options exit 2 with one line on stderr and write no file; without a
# usable CUDA device (this CI machine) the command exits 2 with one line and writes no file.
# Usage: calibrate.sh <tpbench-binary> <source-dir>
set -u
BIN="$1"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
fail=0

expect_exit2() {  # description, args...: exit 2, exactly one stderr line, no $TMP/p.json
  local what=$1; shift
  local out="$TMP/p.json"
  rm -f "$out"
  "$BIN" calibrate "$@" >"$TMP/stdout" 2>"$TMP/stderr"
  local rc=$? lines
  lines=$(wc -l <"$TMP/stderr")
  if [[ $rc -ne 2 || $lines -ne 1 || -e $out ]]; then
    echo "FAIL [$what]: rc=$rc, $lines stderr lines, file $( [[ -e $out ]] && echo written || echo absent)"
    cat "$TMP/stderr"; fail=1; return
  fi
  case "$(cat "$TMP/stderr")" in "tpbench: error:"*) echo "ok   [$what]: $(cat "$TMP/stderr")" ;;
    *) echo "FAIL [$what]: $(cat "$TMP/stderr")"; fail=1 ;; esac
}

expect_exit2 "no --out"
expect_exit2 "unknown base" --out "$TMP/p.json" --base no-such-profile
expect_exit2 "min > max" --out "$TMP/p.json" --min-bytes 1M --max-bytes 1K
expect_exit2 "zero min" --out "$TMP/p.json" --min-bytes 0
expect_exit2 "huge max" --out "$TMP/p.json" --max-bytes 64G
expect_exit2 "negative gpu" --out "$TMP/p.json" --gpus -1
expect_exit2 "duplicate gpu" --out "$TMP/p.json" --gpus 0,0
expect_exit2 "base not a profile" --out "$TMP/p.json" --base "$0"

# Unwritable destination: exit 2, nothing created (checked before any measurement).
"$BIN" calibrate --out "$TMP/missing/dir/p.json" >/dev/null 2>"$TMP/stderr"
rc=$?
if [[ $rc -ne 2 || -e "$TMP/missing" || $(wc -l <"$TMP/stderr") -ne 1 ]]; then
  echo "FAIL: unwritable --out -> rc=$rc"; cat "$TMP/stderr"; fail=1
else
  echo "ok   [unwritable --out]: $(cat "$TMP/stderr")"
fi

# No GPU here: one line naming the reason, exit 2, no file.
if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  expect_exit2 "no CUDA device" --quick --out "$TMP/p.json"
  grep -q "calibrate: no usable CUDA device (" "$TMP/stderr" || { echo "FAIL: no-device message: $(cat "$TMP/stderr")"; fail=1; }
fi

if [[ $fail -ne 0 ]]; then echo "calibrate CLI checks failed"; exit 1; fi
echo "all calibrate CLI checks passed"
