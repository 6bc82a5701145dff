#!/usr/bin/env bash
# Output paths: a run never writes over its own input, never replaces a device, pipe or
# directory with a file, keeps a symbolic link (rewriting its target), and never hands a path
# to a shell (explain runs the plot script with a reference file named like a command).
# Usage: output_paths.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
REF="$SRC/results/llmd/llmd_pd_sweep_exact_from_tables.csv"
cd "$TMP" || exit 1

# expect_refused WHAT ARGS...: exits 2 with one "tpbench: error:" line.
expect_refused() {
  local what="$1"
  shift
  local err rc
  err=$(timeout 60 "$BIN" "$@" 2>&1 >/dev/null)
  rc=$?
  if [[ $rc -ne 2 || $(printf '%s\n' "$err" | grep -c .) -ne 1 || "$err" != "tpbench: error:"* ]]; then
    echo "FAIL: $what: rc=$rc: $err"
    fail=1
  else
    echo "ok: $what: $err"
  fi
}

"$BIN" predict --layout 1R-TP4 --concurrency 1,8 --out pred.json >/dev/null || { echo "FAIL: predict"; exit 1; }
cp pred.json pred.orig
expect_refused "compare --json onto its --predicted" compare --reference "$REF" --predicted pred.json --json pred.json
cmp -s pred.json pred.orig || { echo "FAIL: the input was changed"; fail=1; }
ln -s pred.json alias.json
expect_refused "compare --json onto a link to its input" compare --reference "$REF" --predicted pred.json --json alias.json
cmp -s pred.json pred.orig || { echo "FAIL: the input was changed through a link"; fail=1; }
expect_refused "toy --json onto its curves" toy --curves pred.json --json pred.json
cmp -s pred.json pred.orig || { echo "FAIL: toy changed its input"; fail=1; }

mkfifo pipe
expect_refused "predict --out onto a FIFO" predict --layout 1R-TP4 --concurrency 1 --out pipe
[[ -p pipe ]] || { echo "FAIL: the FIFO was replaced"; fail=1; }
expect_refused "predict --out onto a directory" predict --layout 1R-TP4 --concurrency 1 --out "$TMP"

# A link to a file not yet written: the file is created, the link stays.
ln -s target.json link.json
"$BIN" predict --layout 1R-TP4 --concurrency 1 --out link.json >/dev/null
if [[ -L link.json && -f target.json ]] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' target.json; then
  echo "ok: a link is kept and its target written"
else
  echo "FAIL: predict --out through a link"
  fail=1
fi

# A reference file whose name would run a command if a shell saw it. A stand-in python3 on PATH
# (so the check runs with or without matplotlib) records the arguments it is given and makes the
# PNG: the name must arrive as one argument, unchanged, and nothing may run it.
evil="ref'\$(touch INJECTED)'.csv"
cp "$REF" "$evil"
mkdir -p "$TMP/bin"
cat >"$TMP/bin/python3" <<'PY'
#!/usr/bin/env bash
[[ "$1" == "-c" ]] && exit 0
printf '%s\n' "$@" >"$ARGS_FILE"
for a in "$@"; do case "$a" in --out=*) : >"${a#--out=}" ;; esac; done
PY
chmod +x "$TMP/bin/python3"
ARGS_FILE="$TMP/args.txt" PATH="$TMP/bin:$PATH" "$BIN" explain --reference "$evil" --out report.md >/dev/null 2>&1 ||
  { echo "FAIL: explain with an odd file name"; fail=1; }
if [[ -e INJECTED ]]; then
  echo "FAIL: explain ran a command hidden in a file name"
  fail=1
elif ! grep -qxF -- "--reference=$evil" "$TMP/args.txt" 2>/dev/null; then
  echo "FAIL: the plot script did not get the file name as one argument"
  cat "$TMP/args.txt" 2>/dev/null
  fail=1
else
  echo "ok: explain passes file names as arguments, not to a shell"
fi
finish
