#!/usr/bin/env bash
# A sweep stopped by SIGTERM or SIGHUP (timeout, Slurm, systemd, docker stop, a closed
# terminal) as by Ctrl-C; a second signal, a full disk and a second writer on the same --out:
# whatever is left on disk is valid JSON that says honestly how far the sweep got.
# Usage: sweep_signals.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
SWEEP=(sweep --backend cpu --model tiny --tp 1,2 --batch 1,2,4,8 --context 256,512,1024 --budget 0.3
       --target-spread 0.0001 --no-progress)

# Waits until the sweep document $1 holds at least one point (polled: a slow machine is no failure).
wait_for_point() {
  for _ in $(seq 1 600); do
    python3 -c 'import json,sys; sys.exit(0 if len(json.load(open(sys.argv[1]))["points"]) > 0 else 1)' "$1" \
      2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# check_doc FILE WANT_INTERRUPTED WANT_COMPLETE: valid JSON with those labels and only ok points.
check_doc() {
  python3 - "$@" <<'PY'
import json, sys
path, interrupted, complete = sys.argv[1], sys.argv[2] == "true", sys.argv[3] == "true"
doc = json.load(open(path))
assert doc["interrupted"] is interrupted, f"interrupted is {doc['interrupted']}"
assert doc.get("complete") is complete, f"complete is {doc.get('complete')}"
assert all(p["status"] == "ok" for p in doc["points"])
print(f"ok: {path.rsplit('/', 1)[-1]}: {len(doc['points'])} point(s), interrupted={interrupted}, complete={complete}")
PY
}

for sig in TERM HUP; do
  out="$TMP/$sig.json"
  "$BIN" "${SWEEP[@]}" --out "$out" >"$TMP/$sig.log" 2>&1 &
  pid=$!
  wait_for_point "$out" || { echo "FAIL: no point before SIG$sig"; fail=1; }
  start=$(date +%s.%N)
  kill -"$sig" "$pid"
  wait "$pid"
  rc=$?
  took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
  want=$((128 + $(kill -l "$sig")))
  [[ $rc -eq $want ]] && echo "ok: SIG$sig -> exit $rc after ${took} s" ||
    { echo "FAIL: SIG$sig -> exit $rc, expected $want"; cat "$TMP/$sig.log"; fail=1; }
  check_doc "$out" true false || fail=1
done

# A second Ctrl-C ends the process at once; the file it leaves says the sweep did not finish.
out="$TMP/twice.json"
"$BIN" "${SWEEP[@]}" --out "$out" >/dev/null 2>&1 &
pid=$!
wait_for_point "$out"
kill -INT "$pid"; sleep 0.02; kill -INT "$pid"
wait "$pid"
python3 - "$out" <<'PY' || fail=1
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["interrupted"] is True or doc.get("complete") is False, "a stopped sweep is labelled finished"
print(f"ok: after two signals: {len(doc['points'])} point(s), interrupted={doc['interrupted']}, complete={doc['complete']}")
PY
# A process the second signal ended may leave its lock file (harmless: the lock died with the
# process, and the next sweep takes it) or a temporary; those are not what the last check is about.
rm -f "$out".lock "$out".tmp.*

# A full disk (a file-size limit, SIGXFSZ ignored so write fails with EFBIG): exit 2 and the
# last document written, which says it is not complete.
out="$TMP/full.json"
(trap '' XFSZ; ulimit -f 12; exec "$BIN" "${SWEEP[@]}" --out "$out") >/dev/null 2>"$TMP/full.err"
rc=$?
[[ $rc -eq 2 ]] && echo "ok: full disk -> exit 2: $(cat "$TMP/full.err")" ||
  { echo "FAIL: full disk -> exit $rc"; cat "$TMP/full.err"; fail=1; }
check_doc "$out" false false || fail=1

# A second sweep writing the same --out is refused while the first runs.
out="$TMP/shared.json"
"$BIN" "${SWEEP[@]}" --out "$out" >/dev/null 2>&1 &
pid=$!
wait_for_point "$out"
err=$("$BIN" "${SWEEP[@]}" --out "$out" 2>&1 >/dev/null)
rc=$?
[[ $rc -eq 2 && "$err" == *"another tpbench run"* ]] && echo "ok: second writer: $err" ||
  { echo "FAIL: second writer -> exit $rc: $err"; fail=1; }
kill -TERM "$pid"; wait "$pid"
check_doc "$out" true false || fail=1
ls "$TMP" | grep -q '\.tmp\.\|\.lock$' && { echo "FAIL: temporary or lock file left behind"; ls "$TMP"; fail=1; }
finish
