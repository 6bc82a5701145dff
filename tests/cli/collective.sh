#!/usr/bin/env bash
# `tpbench collective`: bad input exits 2 with one line and writes no file; small cpu runs of
# every operation produce a valid tpbench.collective/1 document with exact results.
# Usage: collective.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
BAD="$TMP/bad.json"


expect_usage_error "$BAD" collective --op broadcast --ranks 2 --json "$BAD"
expect_usage_error "$BAD" collective --ranks 0 --json "$BAD"
expect_usage_error "$BAD" collective --ranks 65 --json "$BAD"
expect_usage_error "$BAD" collective --ranks 2 --gpus 0,1 --backend cpu --json "$BAD"
expect_usage_error "$BAD" collective --min-bytes 0 --json "$BAD"
expect_usage_error "$BAD" collective --max-bytes 0 --json "$BAD"
expect_usage_error "$BAD" collective --min-bytes 1024 --max-bytes 16 --json "$BAD"
expect_usage_error "$BAD" collective --step-factor 1 --json "$BAD"
expect_usage_error "$BAD" collective --iters 0 --json "$BAD"
expect_usage_error "$BAD" collective --backend tpu --json "$BAD"
expect_usage_error "$BAD" collective --ranks 64 --op all_gather --max-bytes 64G --json "$BAD"   # more host memory than exists
if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  expect_usage_error "$BAD" collective --ranks 2 --max-bytes 64 --backend cuda --json "$BAD"   # no GPU here: exit 2, one line
fi

# Unwritable destination: exit 2, nothing created.
"$BIN" collective --ranks 2 --max-bytes 64 --json "$TMP/missing/dir/x.json" >/dev/null 2>"$TMP/stderr"
rc=$?
if [[ $rc -ne 2 || -e "$TMP/missing" ]]; then echo "FAIL: unwritable --json -> rc=$rc"; fail=1; fi

for op in all_reduce all_gather reduce_scatter all_to_all; do
  out="$TMP/$op.json"
  if ! "$BIN" collective --op "$op" --ranks 3 --min-bytes 4 --max-bytes 64K --step-factor 4 \
       --iters 3 --warmup 1 --backend cpu --json "$out" >"$TMP/table" 2>"$TMP/stderr"; then
    echo "FAIL: $op run exited non-zero"; cat "$TMP/stderr"; fail=1; continue
  fi
  grep -q "all results exact" "$TMP/table" || { echo "FAIL: $op table has no exactness line"; fail=1; }
  python3 - "$out" "$op" <<'EOF' || fail=1
import json, sys
path, op = sys.argv[1], sys.argv[2]
d = json.load(open(path))
n = 3
def check(cond, what):
    if not cond:
        print(f"FAIL: {op}: {what}")
        sys.exit(1)
check(d["schema"] == "tpbench.collective/1", "schema")
check(d["op"] == op and d["ranks"] == n and d["backend"] == "cpu", "header")
check(d["tool"]["name"] == "tpbench" and isinstance(d["tool"]["version"], str) and isinstance(d["tool"]["git_commit"], str), "tool")
pts = d["points"]
check(len(pts) >= 5, f"only {len(pts)} points")
factor = 2 * (n - 1) / n if op == "all_reduce" else (n - 1) / n
for p in pts:
    check(p["wrong"] == 0, f"wrong={p['wrong']} at {p['size_bytes']}")
    check(p["time_s"] > 0, "time")
    # nccl-tests size: all_reduce count*4, gather/scatter/all-to-all ranks*count*4 (count per rank or peer)
    size = p["count"] * 4 * (1 if op == "all_reduce" else n)
    check(p["size_bytes"] == size, f"size {p['size_bytes']} != {size}")
    check(abs(p["algbw"] - size / p["time_s"] / 1e9) <= 1e-9 * max(1, p["algbw"]), "algbw")
    check(abs(p["busbw"] - p["algbw"] * factor) <= 1e-9 * max(1, p["busbw"]), "busbw")
sizes = [p["size_bytes"] for p in pts]
check(sizes == sorted(sizes) and len(set(sizes)) == len(sizes), "sizes not increasing")
check(sizes[-1] <= 64 * 1024, "size past --max-bytes")
EOF
done

# One rank: nothing crosses a link, busbw is 0 (as nccl-tests prints it).
"$BIN" collective --ranks 1 --max-bytes 64 --iters 2 --warmup 0 --json "$TMP/one.json" >/dev/null 2>&1 || {
  echo "FAIL: --ranks 1 run"; fail=1; }
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert all(p["busbw"]==0 and p["wrong"]==0 for p in d["points"])' \
  "$TMP/one.json" || { echo "FAIL: --ranks 1 busbw"; fail=1; }

# Every built-in profile has all_to_all tables, and says that they are derived, not measured.
for prof in h100-sxm a100-sxm-80gb gb200-nvl72; do
  shown=$("$BIN" profile show "$prof" 2>&1)
  grep -q "^  all_to_all     n=8" <<<"$shown" || { echo "FAIL: $prof shows no all_to_all n=8 table"; fail=1; }
  grep -q "all_to_all derived, not measured" <<<"$shown" || { echo "FAIL: $prof: all_to_all source missing"; fail=1; }
done

[[ $fail -eq 0 ]] && echo "cli.collective: all checks passed"
exit $fail
