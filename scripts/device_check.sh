#!/usr/bin/env bash
# The one prepared command for a one-GPU H100/H200 machine (see README "Real hardware"):
#   TPBENCH_GIT_COMMIT=<sha> bash scripts/device_check.sh [OUTDIR]
# (the device machine gets the working tree without .git: name the commit, or the JSON says
# "unknown"). Give the device call a timeout of at least DEADLINE_S + 60 s (e.g. 500 s).
# 1. preflight: nvidia-smi (card, driver, clocks, power limit), cmake, ninja, g++, nvcc, NCCL
#    (toolkit, /usr or Python's nvidia-nccl wheel), cuBLASLt, and the carried .deps;
# 2. builds with -arch=sm_90 only what it runs (dependencies from .deps/*.deb: no registry there);
# 3. runs the GPU tests but NCCL's (they must not skip), `tpbench calibrate --quick` (the measured
#    system profile), a Llama-3.1-8B TP=1 decode sweep at batch 1..256, a Llama-3.1-70B
#    --emulate-tp 4 sweep over 4 layers with --verify (EMULATED: rank 0 of TP=4 runs for real,
#    collective times come from the card's datasheet profile), the GPU micro-benchmarks with the
#    one-GPU NCCL tests before those that use NCCL (NCCL's bootstrap is the step most likely to
#    hang in a VM), and, time permitting, compute-sanitizer's memcheck over the kernel tests;
# 4. writes to OUTDIR (default results/<gpu-kind>/) at most 8 files, what the device tool brings
#    back: device_check.log (everything printed), summary.txt (each step's result as it ends, so a
#    run cut short still says how far it got), gpu_tests.json, nccl_tests.json, profile.json, two
#    sweeps and benchmarks.json (merged after every binary); prints a summary table last.
# Budget: each step has its own limit, the whole run DEADLINE_S seconds (420); a step that would
# start with less than 45 s left is skipped (and counted as failed). Every step runs even if an
# earlier one failed. A sweep step fails when any of its points is not "ok".
set -uo pipefail
cd "$(dirname "$0")/.."
DEADLINE=$((SECONDS + ${DEADLINE_S:-420}))
declare -a SUMMARY=()
FAILED=0
SUMMARY_FILE=/dev/null
note() {
  SUMMARY+=("$(printf '%-34s %-7s %s' "$1" "$2" "$3")")
  printf '%-34s %-7s %s\n' "$1" "$2" "$3" >>"$SUMMARY_FILE"
}
fail_note() { note "$1" FAIL "$2"; FAILED=$((FAILED + 1)); }
run_step() {  # name, limit in seconds, command...
  local name=$1 want=$2; shift 2
  local t0=$SECONDS left=$((DEADLINE - SECONDS))
  if [ "$left" -lt 45 ]; then fail_note "$name" "skipped: run deadline reached"; return 1; fi
  local limit=$(( left < want ? left : want ))
  echo "== $name (limit ${limit} s): $*"
  # -k: a process stuck in the driver ignores SIGTERM; SIGKILL it 15 s later.
  timeout -k 15 "$limit" "$@"
  local rc=$?
  if [ "$rc" -eq 0 ]; then note "$name" PASS "$((SECONDS - t0)) s"; return 0; fi
  local why=""
  case $rc in 124|137) why=" (time limit)" ;; *) [ "$rc" -gt 128 ] && why=" (signal $((rc - 128)))" ;; esac
  fail_note "$name" "exit $rc after $((SECONDS - t0)) s$why"
  return 1
}

gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
case "$gpu_name" in
  *H200*) kind=h200 ;; *H100*) kind=h100 ;; "") kind=nogpu ;; *) kind=$(echo "$gpu_name" | tr 'A-Z ' 'a-z-') ;;
esac
OUT=${1:-results/$kind}
mkdir -p "$OUT"
# A reused folder must not show an earlier run's files as this run's.
rm -f "$OUT"/{device_check.log,summary.txt,gpu_tests.json,nccl_tests.json,profile.json,benchmarks.json} "$OUT"/sweep_*.json
# Everything printed also goes to OUTDIR: the device tool returns only the output's tail.
exec > >(tee -a "$OUT/device_check.log") 2>&1
TEE_PID=$!
SUMMARY_FILE=$OUT/summary.txt
: >"$SUMMARY_FILE"
# JSON is written here and copied to OUTDIR when its step ends: a killed step leaves no
# temporary file among the (at most 8) files that come back.
STAGE=$(mktemp -d)
keep() { for f in "$@"; do [ -f "$STAGE/$f" ] && cp "$STAGE/$f" "$OUT/$f"; done; return 0; }

COMMIT=${TPBENCH_GIT_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
export TPBENCH_GIT_COMMIT=$COMMIT
echo "device_check: commit $COMMIT, $(date -u +%FT%TZ) -> $OUT"
CARD=$(nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu,persistence_mode \
  --format=csv,noheader 2>/dev/null | head -1)
echo "card: ${CARD:-no nvidia-smi} (name, driver, SM MHz, max SM MHz, mem MHz, power limit, temperature C, persistence)"
echo "card: $CARD" >>"$SUMMARY_FILE"

# Reproducible CPU references (the GPU tests compare with the CPU backend): Debian 12's OpenBLAS
# may pick a wrong kernel on a CPU whose identity the VM hides.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-8}
export NCCL_DEBUG=${NCCL_DEBUG:-WARN}  # an NCCL failure says why

# ---- preflight: toolchain discovery ---------------------------------------------------------
PREFLIGHT_OK=1
echo "python3: $(python3 --version 2>&1 || echo NOT FOUND)"  # the checks and merges below use it
command -v python3 >/dev/null || PREFLIGHT_OK=0
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null | head -1)
echo "nvcc: ${NVCC:-NOT FOUND} $($NVCC --version 2>/dev/null | tail -1)"
[ -n "$NVCC" ] || PREFLIGHT_OK=0
if ! command -v cmake >/dev/null; then  # the image's Python has a cmake wheel
  d=$(python3 -c 'import cmake; print(cmake.CMAKE_BIN_DIR)' 2>/dev/null) && PATH="$d:$PATH"
fi
echo "cmake: $(cmake --version 2>/dev/null | head -1 || echo NOT FOUND)"
command -v cmake >/dev/null || PREFLIGHT_OK=0
GEN=Ninja
command -v ninja >/dev/null || GEN="Unix Makefiles"
echo "generator: $GEN; g++: $(g++ --version 2>/dev/null | head -1 || echo NOT FOUND); $(ldd --version 2>/dev/null | head -1)"
command -v g++ >/dev/null || PREFLIGHT_OK=0
PYNV=$(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]) + "/nvidia")' 2>/dev/null || true)
NCCL_ROOT_FOUND=""
# Wheel layouts differ between CUDA majors (nvidia/nccl, nvidia/cu13): also wherever nccl.h is.
PYNV_NCCL=$([ -n "$PYNV" ] && find "$PYNV" -maxdepth 3 -name nccl.h 2>/dev/null | head -1)
for d in "${NCCL_ROOT:-}" /usr/local/cuda /usr "$PYNV/nccl" "$PYNV/cu13" "${PYNV_NCCL:+$(dirname "$(dirname "$PYNV_NCCL")")}"; do
  [ -n "$d" ] && [ -f "$d/include/nccl.h" ] && { NCCL_ROOT_FOUND=$d; break; }
done
echo "NCCL: ${NCCL_ROOT_FOUND:-NOT FOUND}"
[ -n "$NCCL_ROOT_FOUND" ] || PREFLIGHT_OK=0
if [ -n "$NCCL_ROOT_FOUND" ] && [ ! -e "$NCCL_ROOT_FOUND/lib/libnccl.so" ] && [ -e "$NCCL_ROOT_FOUND/lib/libnccl.so.2" ]; then
  # pip wheels ship only the versioned library: give the linker the plain name.
  mkdir -p /tmp/tpbench-nccl/lib && ln -sf "$NCCL_ROOT_FOUND/lib/libnccl.so.2" /tmp/tpbench-nccl/lib/libnccl.so
  ln -sfn "$NCCL_ROOT_FOUND/include" /tmp/tpbench-nccl/include
  export LD_LIBRARY_PATH="$NCCL_ROOT_FOUND/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  NCCL_ROOT_FOUND=/tmp/tpbench-nccl
fi
# cuBLAS is linked from the toolkit beside nvcc (CMake's CUDA::cublasLt); the wheels are only
# reported, for a toolkit that lacks it.
CUBLAS=$(ls "$(dirname "$(dirname "${NVCC:-/usr/local/cuda/bin/nvcc}")")"/lib64/libcublasLt.so* /usr/local/cuda/lib64/libcublasLt.so* 2>/dev/null | head -1)
WHEEL_CUBLAS=$(ls "$PYNV"/cu13/lib/libcublasLt.so* "$PYNV"/cublas/lib/libcublasLt.so* 2>/dev/null | head -1)
echo "cuBLASLt: ${CUBLAS:-NOT FOUND in the toolkit}${WHEEL_CUBLAS:+ (wheel: $WHEEL_CUBLAS)}"

# ---- dependencies without a registry: unpack carried .debs ------------------------------------
PREFIX_ARGS=()
if [ -d .deps ] && ls .deps/*.deb >/dev/null 2>&1; then
  DEPS=/tmp/tpbench-deps
  mkdir -p $DEPS
  for f in .deps/*.deb; do dpkg -x "$f" $DEPS; done
  export CPATH="$DEPS/usr/include:$DEPS/usr/include/x86_64-linux-gnu/openblas-pthread${CPATH:+:$CPATH}"
  export LD_LIBRARY_PATH="$DEPS/usr/lib/x86_64-linux-gnu:$DEPS/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LIBRARY_PATH="$LD_LIBRARY_PATH"
  # Debian's OpenBLAS config points at /usr: use the unpacked copy instead.
  OB=$DEPS/usr/lib/x86_64-linux-gnu/openblas-pthread/cmake/openblas
  sed -i "s#/usr/#$DEPS/usr/#g" $OB/OpenBLASConfig.cmake
  PREFIX_ARGS=(-DCMAKE_PREFIX_PATH="$DEPS/usr;$DEPS/usr/lib/x86_64-linux-gnu/cmake" -DOpenBLAS_DIR="$OB")
  echo "dependencies: unpacked $(ls .deps/*.deb | wc -l) .deb files into $DEPS"
elif [ ! -f /usr/include/nlohmann/json.hpp ]; then
  echo "dependencies: no .deps/ and no system nlohmann-json: run scripts/fetch_device_deps.sh here and carry .deps"
  PREFLIGHT_OK=0
fi
if [ "$PREFLIGHT_OK" -eq 1 ]; then note preflight PASS "toolchain found"
else fail_note preflight "missing toolchain pieces (see the lines above)"; fi

# ---- build ----------------------------------------------------------------------------------
BUILD=build-device
TARGETS=(tpbench tpbench_tests)
for s in bench/*.cu; do TARGETS+=("bench_$(basename "$s" .cu)_gpu"); done
run_step "configure (sm_90)" 90 cmake -S . -B $BUILD -G "$GEN" -DCMAKE_BUILD_TYPE=Release -DTPBENCH_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$NVCC" -DNCCL_ROOT="$NCCL_ROOT_FOUND" -DTPBENCH_MPI=OFF "${PREFIX_ARGS[@]}"
run_step "build" 300 cmake --build $BUILD -j"$(nproc)" --target "${TARGETS[@]}"
TP=$BUILD/tpbench
# What every JSON document of this run records as its commit (set at build time).
echo "device_check: the binary says $($TP --version 2>&1 | head -1)"

# GPU tests: they must run, not skip, and at least `min` of them must run (a filter that
# matches nothing passes in gtest). The two excluded need 2+ GPUs or no GPU.
gpu_tests() {  # name, limit, min tests, json file, gtest filter
  local name=$1 limit=$2 min=$3 json=$4 filter=$5
  run_step "$name" "$limit" bash -c "$BUILD/tests/tpbench_tests --gtest_filter='$filter' --gtest_output=json:$STAGE/$json \
    2>&1 | tee $STAGE/$json.log; r=\${PIPESTATUS[0]}; \
    if grep -q '\[  SKIPPED \]' $STAGE/$json.log; then echo 'GPU tests SKIPPED on a GPU machine'; exit 1; fi; \
    n=\$(grep -c '^\[       OK \]' $STAGE/$json.log); \
    if [ \"\$n\" -lt $min ]; then echo \"only \$n tests passed, expected at least $min\"; exit 1; fi; exit \$r"
  keep "$json"
}
gpu_tests "gpu tests (no NCCL)" 150 34 gpu_tests.json \
  '*Gpu*:*GPU*:*Cuda*:*Calibrate*:-NcclGpu.*:CudaBackendGpu.NcclTpMatchesCpu:*CalibrateWithoutDevice*'

# ---- calibration: the measured system profile (HBM, GEMM efficiency, attention; one GPU keeps
# the base profile's collective tables and says so in its sources) --------------------------------
CAL_BASE=h100-sxm; [ "$kind" = h200 ] && CAL_BASE=h200-sxm
run_step "calibrate --quick" 120 $TP calibrate --quick --base $CAL_BASE --out "$STAGE/profile.json"
keep profile.json
# The measured profile must be one that predict reads (and its table goes into the log).
if [ -f "$OUT/profile.json" ]; then
  run_step "profile -> predict" 30 bash -c "$TP profile show '$OUT/profile.json' | head -12 && $TP predict \
    --profile '$OUT/profile.json' --model llama-3.1-70b --layout 1R-TP4,1R-TP8 --concurrency 1,64 --isl 10000 \
    --osl 1000 --out '$STAGE/pred.json'"
fi

# ---- sweeps ---------------------------------------------------------------------------------
sweep_points() {  # name, file, expected points, "verify" when every point must be verified
  local r ok total
  r=$(python3 - "$OUT/$2" "${4:-}" <<'PY' 2>/dev/null
import json, sys
try:
    pts = json.load(open(sys.argv[1]))["points"]
    need_verified = sys.argv[2] == "verify"
    print(sum(p["status"] == "ok" and (not need_verified or p.get("verified") is True) for p in pts), len(pts))
except Exception:
    print(0, 0)
PY
)
  read -r ok total <<<"${r:-0 0}"
  local what="$ok of $3 points ok${4:+ and verified} ($total written)"
  if [ "$ok" = "$3" ] && [ "$total" = "$3" ]; then note "$1 points" PASS "$what"
  else fail_note "$1 points" "$what"; fi
}
# TP=1 has nothing sharded to verify (its --verify would compare TP=1 with itself); the GPU test
# CudaBackendGpu.Tp1MatchesCpuFp32 checks the TP=1 step against the CPU's FP32 one instead.
# Context 1024 keeps batch 256's KV cache (32 GiB) beside the 16 GB of weights on an 80 GB card.
S8=sweep_llama8b_tp1.json
run_step "sweep 8B TP=1" 150 $TP sweep --backend cuda --model llama-3.1-8b --tp 1 --batch 1,8,32,64,128,256 \
  --context 1024 --budget 1 --timeout 120 --no-progress --out "$STAGE/$S8"
keep $S8; sweep_points "sweep 8B TP=1" $S8 6
# Collective times of the emulated ranks from the profile of this card's kind.
S70=sweep_llama70b_emulated_tp4.json
run_step "sweep 70B emulate-tp 4" 150 $TP sweep --backend cuda --model llama-3.1-70b --emulate-tp 4 --layers 4 \
  --profile $CAL_BASE --batch 1,8,32,64 --context 11000 --verify --budget 1 --timeout 120 --no-progress \
  --out "$STAGE/$S70"
keep $S70; sweep_points "sweep 70B emulate-tp 4" $S70 4 verify

# ---- micro-benchmarks -------------------------------------------------------------------------
# The device tool brings back at most 8 files: the benchmarks' JSON is merged into one, after
# every binary, so a run cut short keeps what finished. Console tables go to the staging folder
# (they would fill the output's tail); errors are printed by the merge.
merge_benchmarks() {
  python3 - "$STAGE/bench" "$STAGE/benchmarks.json" <<'PY'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
expected = ("does not fit", "not enough GPU memory")  # points too large for this GPU: skipped by design
merged, bad = {}, 0
for f in sorted(os.listdir(src)):
    if not f.endswith(".json"):
        continue
    name = f[:-5]
    try:
        merged[name] = json.load(open(os.path.join(src, f)))
    except Exception as e:
        merged[name] = {"error": f"unreadable JSON ({e}): the binary was killed or crashed"}
        print(f"  {name}: JSON unreadable (killed or crashed)")
        bad += 1
        continue
    errs = [b for b in merged[name].get("benchmarks", []) if b.get("error_occurred")
            and not any(x in b.get("error_message", "") for x in expected)]
    if errs:
        print(f"  {name}: {len(errs)} benchmark(s) errored, first {errs[0]['name']}: {errs[0].get('error_message')}")
        bad += 1
tmp = out + ".partial"
json.dump(merged, open(tmp, "w"), indent=1)
os.replace(tmp, out)
sys.exit(1 if bad else 0)
PY
  local rc=$?
  keep benchmarks.json
  return $rc
}
mkdir -p "$STAGE/bench"
BENCHES=0
run_bench() {  # path of a bench binary
  local n limit=60
  n=$(basename "$1")
  [ "$n" = bench_gemm_gpu ] && limit=120
  BENCHES=$((BENCHES + 1))
  run_step "$n" $limit bash -c "'$1' --benchmark_min_time=0.05 --benchmark_out='$STAGE/bench/$n.json' \
    --benchmark_out_format=json >'$STAGE/bench/$n.txt'"
  merge_benchmarks >/dev/null 2>&1
}
# The benches that need no NCCL first, then the one-GPU NCCL tests (one-rank communicators; the
# multi-GPU ones need a DGX), then the benches that use NCCL: NCCL's bootstrap is the step most
# likely to hang in a VM, and it should cost only what comes after it.
NCCL_BENCHES="bench_collectives_gpu bench_overlap_gpu"
for b in $BUILD/bench/bench_*_gpu; do
  [ -x "$b" ] && [[ " $NCCL_BENCHES " != *" $(basename "$b") "* ]] && run_bench "$b"
done
gpu_tests "nccl tests (one GPU)" 90 5 nccl_tests.json \
  'NcclGpu.*:-NcclGpu.CollectiveCommandWithoutGpuIsUnavailable'
for n in $NCCL_BENCHES; do [ -x "$BUILD/bench/$n" ] && run_bench "$BUILD/bench/$n"; done
if [ "$BENCHES" -eq 0 ]; then fail_note "benchmarks.json" "no GPU benchmark binary was built"
elif merge_benchmarks; then note "benchmarks.json" PASS "$(ls "$STAGE"/bench/*.json 2>/dev/null | wc -l) of $BENCHES binaries' JSON merged"
else fail_note "benchmarks.json" "errors above"; fi

# ---- memory checker over the kernels' tests, time permitting (compute-sanitizer refuses the
# device on some runtimes: that is a skip, not a failure; exit 9 means it found an error) -------
SANITIZER=$(command -v compute-sanitizer || ls "$(dirname "${NVCC:-/usr/local/cuda/bin/nvcc}")"/compute-sanitizer 2>/dev/null | head -1)
if [ -n "$SANITIZER" ] && [ $((DEADLINE - SECONDS)) -ge 75 ]; then
  echo "== compute-sanitizer memcheck: KernelGpu.*"
  timeout -k 10 60 "$SANITIZER" --tool memcheck --error-exitcode 9 \
    $BUILD/tests/tpbench_tests --gtest_filter='KernelGpu.*' >"$STAGE/memcheck.txt" 2>&1
  rc=$?
  tail -15 "$STAGE/memcheck.txt"
  if [ "$rc" -eq 0 ]; then note "memcheck KernelGpu" PASS "no errors"
  elif [ "$rc" -eq 9 ]; then fail_note "memcheck KernelGpu" "compute-sanitizer found errors (above)"
  else note "memcheck KernelGpu" SKIP "did not complete (exit $rc)"; fi
else
  note "memcheck KernelGpu" SKIP "no compute-sanitizer or no time left"
fi

# ---- summary (last) ---------------------------------------------------------------------------
echo
echo "== device_check summary: ${gpu_name:-no GPU}, commit $COMMIT, $(date -u +%FT%TZ)"
echo "   card: $CARD"
[ -f "$OUT/profile.json" ] && python3 - "$OUT/profile.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print(f"  profile {p['name']}: HBM read {p['hbm_bandwidth']/1e12:.3f} TB/s, BF16 GEMM {p['matmul_flops']/1e12:.0f} TFLOP/s, "
      f"decode attention {p.get('decode_attention_bandwidth', 0)/1e12:.3f} TB/s "
      f"({p.get('decode_attention_efficiency', 0):.2f} of the read)")
# At m=1 a GEMM reads 2 B of BF16 weight per multiply-add (2 FLOPs): 1 B per FLOP, so its FLOP
# rate is its weight-read rate; printed against the HBM read per TP (the skinny-GEMM target).
for tp, table in sorted(p.get("gemm_efficiency_by_tp", {}).items(), key=lambda kv: int(kv[0])):
    f1 = dict((int(m), f) for m, f in table).get(1)
    if f1:
        print(f"  GEMM m=1 TP={tp}: {f1 * p['matmul_flops'] / p['hbm_bandwidth']:.2f} of the HBM read "
              f"(weights streamed at {f1 * p['matmul_flops'] / 1e12:.3f} TB/s)")
PY
for f in "$OUT"/sweep_*.json; do
  [ -f "$f" ] && python3 - "$f" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["points"]:
    em = " EMULATED" if p.get("emulated") else ""
    if p["status"] != "ok":
        print(f"  {p['plan']} TP={p['tp']} B={p['batch']}: {p['status']} {p.get('reason','')}")
        continue
    print(f"  {d['model']['name']} TP={p['tp']}{em} B={p['batch']:>4} ctx={p['context']}: step {p['step_time_s']['median']*1e3:8.3f} ms "
          f"tok/s/user {p['tokens_per_s_per_user']:8.1f} tok/s/gpu {p['tokens_per_s_per_gpu']:9.1f} "
          f"verified={'n/a' if p['verified'] is None else p['verified']}")
PY
done
printf '%-34s %-7s %s\n' step result detail
for s in "${SUMMARY[@]}"; do echo "$s"; done
# Non-zero when any step failed, so the caller sees it without reading the table.
if [ "$FAILED" -eq 0 ]; then echo "all steps passed" | tee -a "$SUMMARY_FILE"; rc=0
else echo "$FAILED step(s) failed" | tee -a "$SUMMARY_FILE"; rc=1; fi
# Let the log's tee drain before the device tool collects OUTDIR.
exec >&- 2>&-
wait "$TEE_PID" 2>/dev/null
exit $rc
