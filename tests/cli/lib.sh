# Shared by the tests/cli/*.sh scripts, sourced first thing: takes the script's arguments
# (<tpbench-binary> [<source-dir>]) as TPBENCH (also BIN) and SRC, and makes a scratch folder TMP
# removed on exit.
TPBENCH="$1"
BIN="$1"
SRC="${2:-}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# expect_usage_error OUT-FILE ARGS...: `tpbench ARGS...` must exit 2, print exactly one line on
# stderr starting "tpbench: error:", and leave OUT-FILE absent. Failures set fail=1.
fail=0
expect_usage_error() {
  local out="$1"
  shift
  rm -f "$out"
  local err rc lines
  err=$("$TPBENCH" "$@" 2>&1 >/dev/null)
  rc=$?
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [[ $rc -ne 2 || $lines -ne 1 || -e $out || "$err" != "tpbench: error:"* ]]; then
    echo "FAIL: '$*' -> rc=$rc, $lines stderr lines, file $([[ -e $out ]] && echo written || echo absent)"
    echo "$err"
    fail=1
    return
  fi
  echo "ok: $err"
}
finish() {
  [[ $fail -eq 0 ]] && echo "all checks passed"
  exit "$fail"
}
