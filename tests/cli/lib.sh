# Shared helpers for the CLI tests: expect_usage_error <description> <out-file> <args...>
# checks exit code 2, exactly one line on stderr starting "tpbench: error:", and no <out-file>.
fails=0
expect_usage_error() {
  local what="$1" outfile="$2"; shift 2
  rm -f "$outfile"
  local err rc
  err=$("$TPBENCH" "$@" 2>&1 >/dev/null); rc=$?
  local lines; lines=$(printf '%s\n' "$err" | grep -c .)
  if [ "$rc" -ne 2 ]; then echo "FAIL [$what]: exit $rc, expected 2 ($err)"; fails=$((fails+1)); return; fi
  if [ "$lines" -ne 1 ]; then echo "FAIL [$what]: $lines lines on stderr, expected 1:"; echo "$err"; fails=$((fails+1)); return; fi
  case "$err" in "tpbench: error:"*) ;; *) echo "FAIL [$what]: '$err'"; fails=$((fails+1)); return;; esac
  if [ -e "$outfile" ]; then echo "FAIL [$what]: wrote $outfile"; fails=$((fails+1)); return; fi
  echo "ok   [$what]: $err"
}
finish() {
  if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
  echo "all checks passed"
}
