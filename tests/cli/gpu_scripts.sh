#!/usr/bin/env bash
# The GPU scripts without a GPU: they parse; device_check.sh's written budget fits its deadline
# (and the check fails when it does not); the shared step functions time out, skip, classify
# compute-sanitizer's outcomes and print the summary; dgx_sweep.sh's dry run goes through every
# step, post-processing included, and ends with the table.
# Usage: gpu_scripts.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1
check() {  # description, then a command that must succeed
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

for s in scripts/device_check.sh scripts/dgx_sweep.sh scripts/install_deps.sh scripts/fetch_device_deps.sh \
         scripts/quickstart.sh scripts/lib/gpu_steps.sh; do
  check "bash -n $s" bash -n "$s"
done

plan=$(bash scripts/device_check.sh --plan) || { echo "$plan"; echo "FAIL: the device check's budget does not fit"; fail=1; }
check "the plan prints its total" grep -q "^total .* of DEADLINE_S 358 s" <<<"$plan"
check "a deadline the estimates overrun is refused" bash -c '! DEADLINE_S=300 bash scripts/device_check.sh --plan >/dev/null'
check "a deadline past the device tool's limit is refused" bash -c '! DEADLINE_S=600 bash scripts/device_check.sh --plan >/dev/null'
check "a deadline without 60 s of the 420 s call left is refused" bash -c '! DEADLINE_S=361 bash scripts/device_check.sh --plan >/dev/null'

# ---- the step functions ----------------------------------------------------------------------
(
  . scripts/lib/gpu_steps.sh
  STEPS_FILE=$TMP/summary.txt
  run_step quick 5 true
  run_step hangs 1 sleep 10
  rc=$?
  [ "$rc" -eq 124 ] || { echo "FAIL: a step past its limit returned $rc, not 124"; exit 1; }
  run_step fails 5 false
  STEPS_DEADLINE=$((SECONDS + 10))
  run_step late 60 true
  out=$(steps_summary) && { echo "FAIL: the summary passed with failed steps"; exit 1; }
  echo "$out"
  grep -qE '^quick +PASS' <<<"$out" || { echo "FAIL: no PASS line"; exit 1; }
  grep -qE '^hangs +FAIL +exit 124 after [0-9]+ s \(time limit\)' <<<"$out" || { echo "FAIL: no time-limit line"; exit 1; }
  grep -qE '^late +FAIL +skipped: run deadline reached' <<<"$out" || { echo "FAIL: no deadline skip"; exit 1; }
  grep -q '^3 step(s) failed' <<<"$out" || { echo "FAIL: wrong failure count"; exit 1; }
  [ "$(wc -l <"$STEPS_FILE")" -eq 5 ] || { echo "FAIL: summary.txt does not hold every result"; exit 1; }
) || fail=1

(
  . scripts/lib/gpu_steps.sh
  log=$TMP/memcheck.txt
  expect() {  # rc, log text, expected result
    printf '%s\n' "$2" >"$log"
    local got
    got=$(classify_memcheck "$1" "$log" | cut -f1)
    [ "$got" = "$3" ] || { echo "FAIL: memcheck rc=$1 '$2' -> $got, expected $3"; return 1; }
  }
  expect 0 "========= ERROR SUMMARY: 0 errors" PASS &&
    expect 1 "========= Error: Device not supported" SKIP &&
    expect 1 "cudaMalloc failed: error 999" SKIP &&
    expect 9 "========= Error: Device not supported
========= ERROR SUMMARY: 1 error" SKIP &&
    expect 1 "The application returned error code 999" SKIP &&
    expect 124 "" SKIP &&
    expect 9 "========= Invalid __global__ write of size 4
========= ERROR SUMMARY: 1 error" FAIL &&
    expect 1 "[  FAILED  ] KernelGpu.RmsNorm" FAIL
) && echo "ok: compute-sanitizer outcomes" || fail=1

(
  . scripts/lib/gpu_steps.sh
  mkdir -p "$TMP/fe/include" "$TMP/wheel/include" "$TMP/wheel/lib"
  touch "$TMP/fe/include/cudnn_frontend.h" "$TMP/wheel/include/cudnn.h" "$TMP/wheel/lib/libcudnn.so.9" \
        "$TMP/wheel/lib/libcudnn_graph.so.9"
  [ "$(CUDNN_FRONTEND_ROOT=$TMP/fe find_cudnn_frontend)" = "$TMP/fe" ] || { echo "FAIL: CUDNN_FRONTEND_ROOT ignored"; exit 1; }
  root=$(CUDNN_ROOT=$TMP/wheel find_cudnn_root)
  [ -e "$root/lib/libcudnn.so" ] && [ -e "$root/lib/libcudnn_graph.so.9" ] && [ -e "$root/include/cudnn.h" ] ||
    { echo "FAIL: a wheel's versioned-only cuDNN was not linked for the build ($root)"; exit 1; }
) && echo "ok: cuDNN found like the build finds it" || fail=1

# ---- the DGX recipe, dry ---------------------------------------------------------------------
out=$(DGX_DRY_RUN=1 bash scripts/dgx_sweep.sh "$TMP/dgx" 2>&1)
rc=$?
check "the dry DGX run passes" test "$rc" -eq 0
for s in configure build calibrate "sweep decode" "sweep prefill" predict "predict --measured" plot explain; do
  check "the dry DGX run has step '$s'" grep -qE "^$s +PASS" <<<"$out"
done
check "the dry DGX run ends with its summary" grep -q "^all steps passed" <<<"$out"
check "every sweep step ran under a limit" test "$(grep -cE '^== sweep .*\(limit [0-9]+ s\): echo ' <<<"$out")" -eq 4
finish
