# shellcheck shell=bash
# Shared by scripts/device_check.sh and scripts/dgx_sweep.sh (sourced, not run): steps with a time
# limit and a one-line result each, the summary table, and finding NCCL and cuDNN the way the
# main build does (cmake/TpbenchCuda.cmake, cmake/TpbenchCudnn.cmake): NCCL_ROOT / CUDNN_ROOT,
# the CUDA toolkit, /usr, Python's nvidia wheels. tests/cli/gpu_scripts.sh tests these functions.

STEPS_SUMMARY=()
STEPS_FAILED=0
STEPS_FILE=/dev/null   # each result is also appended here as it ends (a run cut short still tells)
STEPS_DEADLINE=""      # SECONDS value after which no step starts; empty: none
STEPS_MIN_LEFT=45      # a step that would start with less left is skipped (and counted as failed)

step_note() {  # name, PASS|FAIL|SKIP, detail
  local line
  line=$(printf '%-34s %-7s %s' "$1" "$2" "$3")
  STEPS_SUMMARY+=("$line")
  printf '%s\n' "$line" >>"$STEPS_FILE"
}
step_fail() { step_note "$1" FAIL "$2"; STEPS_FAILED=$((STEPS_FAILED + 1)); }

# run_step NAME LIMIT_S COMMAND...: runs the command under `timeout` (SIGKILL 15 s after SIGTERM:
# a process stuck in the driver ignores SIGTERM), notes PASS or FAIL with the time taken. Returns
# the command's status (124/137: time limit).
run_step() {
  local name=$1 want=$2 t0=$SECONDS limit=$2 rc why=""
  shift 2
  if [ -n "$STEPS_DEADLINE" ]; then
    local left=$((STEPS_DEADLINE - SECONDS))
    if [ "$left" -lt "$STEPS_MIN_LEFT" ]; then step_fail "$name" "skipped: run deadline reached"; return 1; fi
    [ "$left" -lt "$want" ] && limit=$left
  fi
  echo "== $name (limit ${limit} s): $*"
  timeout -k 15 "$limit" "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then step_note "$name" PASS "$((SECONDS - t0)) s"; return 0; fi
  case $rc in 124|137) why=" (time limit)" ;; *) [ "$rc" -gt 128 ] && why=" (signal $((rc - 128)))" ;; esac
  step_fail "$name" "exit $rc after $((SECONDS - t0)) s$why"
  return "$rc"
}

# need_file STEP FILE: true when FILE exists; else notes STEP as skipped (failed) for want of it.
need_file() {
  [ -f "$2" ] && return 0
  step_fail "$1" "skipped: $2 missing (an earlier step failed)"
  return 1
}

# sweep_layouts NAME FILE PLANS OVERLAPS TPS: every layout (plan, overlap, TP) that the sweep
# was asked for (comma lists, as given to `tpbench sweep`) has at least one "ok" point in FILE.
# Notes "NAME points" PASS with the counts, or FAIL naming each layout without an ok point and
# the first reason its points gave ("no point written" when the sweep never reached it); a
# missing or unreadable file is a FAIL. Returns 0 on PASS.
sweep_layouts() {
  local name=$1 file=$2 detail rc
  detail=$(python3 - "$file" "$3" "$4" "$5" <<'PY' 2>&1
import itertools, json, sys
path, plans, overlaps, tps = sys.argv[1], *(a.split(",") for a in sys.argv[2:5])
try:
    points = json.load(open(path))["points"]
except Exception as e:
    print(f"{path} unreadable ({type(e).__name__}): no point to check")
    sys.exit(1)
ok, why = {}, {}
for p in points:
    key = (p["plan"], p["overlap"], str(p["tp"]))
    ok[key] = ok.get(key, 0) + (p["status"] == "ok")
    if p["status"] != "ok" and key not in why:
        why[key] = f"{p['status']}: {p.get('reason', '')}"[:90]
missing = []
for key in itertools.product(plans, overlaps, tps):
    if not ok.get(key):
        missing.append(f"{key[0]}/{key[1]} TP={key[2]} ({why.get(key, 'no point written')})")
good = sum(p["status"] == "ok" for p in points)
if missing:
    print(f"{len(missing)} layout(s) without an ok point: " + "; ".join(missing))
    sys.exit(1)
print(f"{good} of {len(points)} points ok, every layout has one")
PY
)
  rc=$?
  if [ "$rc" -eq 0 ]; then step_note "$name points" PASS "$detail"; else step_fail "$name points" "$detail"; fi
  return "$rc"
}

# cmake_generator: Ninja where it is installed, else Unix Makefiles (cmake --build drives either).
cmake_generator() { if command -v ninja >/dev/null; then echo Ninja; else echo "Unix Makefiles"; fi; }

steps_summary() {  # prints the table; returns 0 when no step failed
  printf '%-34s %-7s %s\n' step result detail
  local s
  for s in "${STEPS_SUMMARY[@]}"; do echo "$s"; done
  if [ "$STEPS_FAILED" -eq 0 ]; then echo "all steps passed" | tee -a "$STEPS_FILE"; return 0; fi
  echo "$STEPS_FAILED step(s) failed" | tee -a "$STEPS_FILE"
  return 1
}

# Python's nvidia/ folder (pip wheels: nvidia-nccl-cu13, nvidia-cudnn-cu13), or nothing.
python_nvidia_dir() {
  python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]) + "/nvidia")' 2>/dev/null || true
}

# link_unversioned ROOT LIB: pip wheels ship only libX.so.N; the linker needs libX.so. Prints a
# root that has include/ and lib/libX.so: ROOT itself, or a folder under /tmp whose lib/ links
# every libX*.so* of ROOT (libcudnn.so.9 loads its siblings from its own folder). The caller
# puts "<printed root>/lib" on LD_LIBRARY_PATH (this runs in a subshell).
link_unversioned() {
  local root=$1 lib=$2 f
  if [ -e "$root/lib/$lib.so" ] || [ -e "$root/lib64/$lib.so" ]; then echo "$root"; return; fi
  ls "$root"/lib/"$lib".so.* >/dev/null 2>&1 || { echo "$root"; return; }
  local links=/tmp/tpbench-$lib
  mkdir -p "$links/lib" && ln -sfn "$root/include" "$links/include"
  for f in "$root"/lib/"$lib"*.so*; do ln -sf "$f" "$links/lib/$(basename "$f")"; done
  ln -sf "$(ls "$root"/lib/"$lib".so.* | head -1)" "$links/lib/$lib.so"
  echo "$links"
}

# find_nccl_root: NCCL_ROOT, the toolkit, /usr, Python's nvidia-nccl wheel; prints the root
# to pass as -DNCCL_ROOT (empty when none).
find_nccl_root() {
  local pynv d hit
  pynv=$(python_nvidia_dir)
  # Wheel layouts differ between CUDA majors (nvidia/nccl, nvidia/cu13): also wherever nccl.h is.
  hit=$([ -n "$pynv" ] && find "$pynv" -maxdepth 3 -name nccl.h 2>/dev/null | head -1)
  for d in "${NCCL_ROOT:-}" /usr/local/cuda /usr "$pynv/nccl" "$pynv/cu13" "${hit:+$(dirname "$(dirname "$hit")")}"; do
    if [ -n "$d" ] && [ -f "$d/include/nccl.h" ]; then link_unversioned "$d" libnccl; return; fi
  done
}

# find_cudnn_root: CUDNN_ROOT, the toolkit, Python's nvidia-cudnn wheel; prints -DCUDNN_ROOT's
# value (empty when none).
find_cudnn_root() {
  local pynv d
  pynv=$(python_nvidia_dir)
  for d in "${CUDNN_ROOT:-}" /usr/local/cuda /usr "$pynv/cudnn"; do
    if [ -n "$d" ] && [ -f "$d/include/cudnn.h" ]; then link_unversioned "$d" libcudnn; return; fi
  done
}

# find_cudnn_frontend: CUDNN_FRONTEND_ROOT, the carried .deps/cudnn-frontend, Python's
# nvidia-cudnn-frontend wheel (its headers install under site-packages/include); prints the
# folder holding include/cudnn_frontend.h (empty when none).
find_cudnn_frontend() {
  local site d
  site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])' 2>/dev/null || true)
  for d in "${CUDNN_FRONTEND_ROOT:-}" "$PWD/.deps/cudnn-frontend" "$site"; do
    if [ -n "$d" ] && [ -f "$d/include/cudnn_frontend.h" ]; then echo "$d"; return; fi
  done
}

# classify_memcheck RC LOG: compute-sanitizer's outcome as "RESULT<TAB>detail". A device or
# runtime that refuses the sanitizer (as seen on some virtualised GPUs: "Device not supported",
# then error 999 at the first allocation) is a SKIP, and is checked before the error counts: a
# refusal also fails the tests and can print an error summary. Errors it found are a FAIL.
classify_memcheck() {
  local rc=$1 log=$2
  if [ "$rc" -eq 0 ]; then printf 'PASS\tno errors\n'; return; fi
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then printf 'SKIP\tdid not finish within its limit\n'; return; fi
  if grep -qiE 'device not supported|not supported on this (device|platform)|unable to (attach|launch|initialize)|error (code )?999|cudaErrorUnknown|Target application terminated before first instrumented' "$log" 2>/dev/null; then
    printf 'SKIP\tthe device refused compute-sanitizer (exit %s)\n' "$rc"; return
  fi
  if [ "$rc" -eq 9 ] || grep -qE 'ERROR SUMMARY: [1-9]' "$log" 2>/dev/null; then
    printf 'FAIL\tcompute-sanitizer found errors (exit %s)\n' "$rc"; return
  fi
  printf 'FAIL\tthe tests failed under compute-sanitizer (exit %s)\n' "$rc"
}
