#!/usr/bin/env bash
# Ctrl-C during a sweep: exit 130 and a valid JSON document holding only finished points.
TPBENCH="$1"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
out="$tmp/sweep.json"
"$TPBENCH" sweep --backend cpu --model tiny --tp 1,2,4 --batch 1,2,4,8 --context 256,512 --budget 0.3 \
  --target-spread 0.0001 --no-progress --out "$out" >"$tmp/log" 2>&1 &
pid=$!
# Interrupt once the document holds at least one finished point (polled, so a slow machine
# does not make the test flaky), while many points are still to come.
for _ in $(seq 1 600); do
  python3 -c 'import json,sys; sys.exit(0 if len(json.load(open(sys.argv[1]))["points"]) > 0 else 1)' "$out" \
    2>/dev/null && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"; rc=$?
[ "$rc" -eq 130 ] || { echo "FAIL: exit $rc after SIGINT, expected 130"; cat "$tmp/log"; exit 1; }
python3 - "$out" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["interrupted"] is True, "interrupted flag not set"
n = len(doc["points"])
assert 0 < n < 24, f"expected some but not all 24 points, got {n}"
assert all(p["status"] == "ok" and p["step_time_s"]["count"] > 0 for p in doc["points"])
print(f"ok: interrupted document holds {n} finished point(s)")
PY
ls "$tmp" | grep -q '\.tmp\.' && { echo "FAIL: temporary file left behind"; exit 1; }
echo "all checks passed"
