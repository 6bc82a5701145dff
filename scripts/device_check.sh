#!/usr/bin/env bash
# The one prepared command for a one-GPU H100/H200 machine (see docs/gpu.md):
#   TPBENCH_GIT_COMMIT=<sha> bash scripts/device_check.sh [OUTDIR]
#   bash scripts/device_check.sh --plan     # prints the step budget below and checks it; runs nothing
# (the device machine gets the working tree without .git: name the commit, or the JSON says
# "unknown"). Give the device call timeout_s 420 (DEVICE_TIMEOUT_S): the run ends within
# DEADLINE_S (350 s), the summary and the log's drain need seconds, and the rest is margin. A
# session has 15 minutes of device time in all, machine start (2-3 min) included: 150 + 420 s
# leaves room for one rerun on the still warm machine, whose build-device/ is kept (the rerun's
# build is incremental, about 20 s instead of 130).
# 1. preflight: nvidia-smi (card, driver, clocks, power limit), cmake, ninja, g++, nvcc, NCCL and
#    cuDNN (a separate library: in the toolkit's folders, /usr or Python's nvidia wheels), the cudnn-frontend headers (carried in
#    .deps/cudnn-frontend or Python's nvidia-cudnn-frontend), cuBLASLt, and the carried .deps;
# 2. builds with -arch=sm_90 only what it runs (dependencies from .deps/*.deb: no registry there);
# 3. runs the GPU tests but NCCL's (they must not skip), `tpbench calibrate --quick` (the measured
#    system profile), a Llama-3.1-8B TP=1 decode sweep at batch 1, 32, 256, a Llama-3.1-70B
#    --emulate-tp 4 sweep over 4 layers with --verify (EMULATED: rank 0 of TP=4 runs for real,
#    collective times come from the card's datasheet profile), a tiny-model FP8 (weights and KV)
#    --emulate-tp 2 sweep with --verify, a Llama-3.1-8B prefill chunk (cuDNN
#    flash attention), the GPU micro-benchmarks (fewer cases than their full grids) with the
#    one-GPU NCCL tests before those that use NCCL (NCCL's bootstrap is the step most likely to
#    hang in a VM), and, time permitting, compute-sanitizer's memcheck over the kernel tests
#    (SKIP, not FAIL, where the device refuses the sanitizer);
# 4. writes to OUTDIR (default results/<gpu-kind>/) at most 8 files, what the device tool brings
#    back: device_check.log (everything printed), summary.txt (each step's result as it ends, so a
#    run cut short still says how far it got), gpu_tests.json, nccl_tests.json, profile.json,
#    the sweeps merged into sweeps.json and benchmarks.json (merged after every binary); prints a
#    summary table last.
# Every step runs even if an earlier one failed; a step that would start with less than 45 s
# left is skipped (and counted as failed). A sweep step fails when any of its points is not "ok".
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/gpu_steps.sh

# ---- the budget -------------------------------------------------------------------------------
# Estimates for a fresh one-GPU H100 machine (16 cores, nothing built or cached), per step, in
# seconds, and the limit each step runs under. How the estimates were made: the build is about
# 130 translation units on 16 cores, whose long poles are the cudnn-frontend translation unit
# (60-90 s on one core; measured 58 s of CPU on this project's 2-core build machine), the CUDA
# kernels (sm_90 only) and CLI11's main.cpp (17 s), then the links; each process that starts
# CUDA, cuBLAS and NCCL pays 1-3 s before its first kernel; a sweep point costs its warm-up, a
# 1 s sampling budget (--budget 1), the kernel tuning and the per-op profile (2-6 s per point);
# the micro-benchmarks are filtered to the cases the summary reads. `--plan` checks that the
# estimates fit the deadline with a margin and that every limit covers its estimate.
# The sum: 10 + 15 + 130 + 30 + 25 + 5 + 20 + 25 + 12 + 10 + 35 + 15 = 332 s, + 25 s margin =
# 357 s within DEADLINE_S = 358 s (62 s of the device call left). The build's 130 s: ~130 translation units at ~10 s each over 16
# cores is ~80 s, behind the cudnn-frontend unit's 60-90 s pole, plus ~30 s of links. The
# sweeps run 3 + 2 + 2 points at 1 s of sampling each plus 3-5 s of set-up.
# Mixture-of-experts on the GPU has no sweep step of its own: a tiny-moe `sweep --emulate-tp 2
# --ep 2 --verify` (~10 s, as sweep-fp8-verify) does not fit the 1 s left, and DEADLINE_S cannot
# grow past 360 s. The gpu-tests step's filter runs MoeKernelsGpu.* and CudaBackendGpu.TinyMoe*
# instead (the same path: TP2/4 x EP1/2 device-local ranks against the CPU, graphs, emulated EP);
# assumed (not measured) to add ~3 s inside gpu-tests' 30 s: 7 tiny-moe points whose prepare and
# step take well under 0.5 s each, and the per-op kernel tests on tables of a few dozen rows.
DEADLINE_S=${DEADLINE_S:-358}
DEVICE_TIMEOUT_S=420  # the device tool's timeout_s that docs/gpu.md tells the operator to use
PLAN=(
  #  step                     estimate limit
  "preflight                  10  40"
  "configure                  15  45"
  "build                      130 180"
  "gpu-tests                  30  75"
  "calibrate                  25  60"
  "predict                    5   30"
  "sweep-8b                   20  60"
  "sweep-70b-emulated         25  60"
  "sweep-8b-prefill           12  45"
  "sweep-fp8-verify           10  45"
  "benchmarks                 35  125"   # the sum of BENCH_LIMIT below
  "nccl-tests                 15  45"
)
MARGIN_S=25          # for what the estimates miss; memcheck runs only in what is left beyond it
limit() {  # limit NAME: the limit of step NAME in PLAN
  local l name
  for l in "${PLAN[@]}"; do
    read -r name _ lim <<<"$l"
    [ "$name" = "$1" ] && { echo "$lim"; return; }
  done
  echo "device_check: no budget for step $1" >&2
  echo 60
}
check_plan() {  # prints the plan; non-zero when it does not fit
  local l name est lim sum=0 bad=0
  printf '%-24s %9s %7s\n' step estimate limit
  for l in "${PLAN[@]}"; do
    read -r name est lim <<<"$l"
    printf '%-24s %7s s %5s s\n' "$name" "$est" "$lim"
    sum=$((sum + est))
    [ "$lim" -ge "$est" ] || { echo "  the limit of $name is below its estimate"; bad=1; }
  done
  printf '%-24s %7s s of DEADLINE_S %s s (margin %s s)\n' total "$sum" "$DEADLINE_S" "$MARGIN_S"
  [ $((sum + MARGIN_S)) -le "$DEADLINE_S" ] || { echo "  the estimates do not fit the deadline"; bad=1; }
  [ $((DEADLINE_S + 60)) -le "$DEVICE_TIMEOUT_S" ] ||
    { echo "  DEADLINE_S must leave 60 s of the device call's timeout_s $DEVICE_TIMEOUT_S"; bad=1; }
  return $bad
}
if [ "${1:-}" = "--plan" ]; then check_plan; exit $?; fi

STEPS_DEADLINE=$((SECONDS + DEADLINE_S))
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
case "$gpu_name" in
  *H200*) kind=h200 ;; *H100*) kind=h100 ;; "") kind=nogpu ;; *) kind=$(echo "$gpu_name" | tr 'A-Z ' 'a-z-') ;;
esac
OUT=${1:-results/$kind}
mkdir -p "$OUT"
# A reused folder must not show an earlier run's files as this run's.
rm -f "$OUT"/{device_check.log,summary.txt,gpu_tests.json,nccl_tests.json,profile.json,benchmarks.json,sweeps.json} "$OUT"/sweep_*.json
# Everything printed also goes to OUTDIR: the device tool returns only the output's tail.
exec > >(tee -a "$OUT/device_check.log") 2>&1
TEE_PID=$!
STEPS_FILE=$OUT/summary.txt
: >"$STEPS_FILE"
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
echo "card: $CARD" >>"$STEPS_FILE"

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
NCCL_ROOT_FOUND=$(find_nccl_root)
echo "NCCL: ${NCCL_ROOT_FOUND:-NOT FOUND}"
[ -n "$NCCL_ROOT_FOUND" ] || PREFLIGHT_OK=0
[ -n "$NCCL_ROOT_FOUND" ] && export LD_LIBRARY_PATH="$NCCL_ROOT_FOUND/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Prefill attention runs only on cuDNN's SDPA: here it is required (a build without it makes the
# prefill tests skip and the prefill sweep's points not_runnable).
CUDNN_ROOT_FOUND=$(find_cudnn_root)
CUDNN_FE_FOUND=$(find_cudnn_frontend)
echo "cuDNN: ${CUDNN_ROOT_FOUND:-NOT FOUND}; cudnn-frontend: ${CUDNN_FE_FOUND:-NOT FOUND (run scripts/fetch_device_deps.sh here and carry .deps)}"
[ -n "$CUDNN_ROOT_FOUND" ] && [ -n "$CUDNN_FE_FOUND" ] || PREFLIGHT_OK=0
[ -n "$CUDNN_ROOT_FOUND" ] && export LD_LIBRARY_PATH="$CUDNN_ROOT_FOUND/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# cuBLAS is linked from the toolkit beside nvcc (CMake's CUDA::cublasLt).
CUBLAS=$(ls "$(dirname "$(dirname "${NVCC:-/usr/local/cuda/bin/nvcc}")")"/lib64/libcublasLt.so* /usr/local/cuda/lib64/libcublasLt.so* 2>/dev/null | head -1)
echo "cuBLASLt: ${CUBLAS:-NOT FOUND in the toolkit}"

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
if [ "$PREFLIGHT_OK" -eq 1 ]; then step_note preflight PASS "toolchain found"
else step_fail preflight "missing toolchain pieces (see the lines above)"; fi

# ---- build ----------------------------------------------------------------------------------
BUILD=build-device
TARGETS=(tpbench tpbench_tests)
BENCHES=(bench_hbm_bandwidth_gpu bench_gemm_gpu bench_decode_attention_gpu bench_collectives_gpu bench_overlap_gpu)
TARGETS+=("${BENCHES[@]}")
# cuDNN is found when it is there (AUTO): without it preflight has failed already, and the decode
# steps still run while the prefill ones fail (their tests skip, their points are not_runnable).
run_step "configure (sm_90)" "$(limit configure)" cmake -S . -B $BUILD -G "$GEN" -DCMAKE_BUILD_TYPE=Release \
  -DTPBENCH_CUDA=ON -DTPBENCH_CUDNN=AUTO -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$NVCC" \
  -DNCCL_ROOT="$NCCL_ROOT_FOUND" -DCUDNN_ROOT="$CUDNN_ROOT_FOUND" -DCUDNN_FRONTEND_ROOT="$CUDNN_FE_FOUND" \
  -DTPBENCH_MPI=OFF "${PREFIX_ARGS[@]}"
run_step "build" "$(limit build)" cmake --build $BUILD -j"$(nproc)" --target "${TARGETS[@]}"
TP=$BUILD/tpbench
# What every JSON document of this run records as its commit (set at build time).
echo "device_check: the binary says $($TP --version 2>&1 | head -1)"

# GPU tests: they must run, not skip, and at least `min` of them must run (a filter that
# matches nothing passes in gtest). The excluded ones need 2+ GPUs or no GPU.
gpu_tests() {  # name, limit, min tests, json file, gtest filter
  local name=$1 limit=$2 min=$3 json=$4 filter=$5
  run_step "$name" "$limit" bash -c "$BUILD/tests/tpbench_tests --gtest_filter='$filter' --gtest_output=json:$STAGE/$json \
    2>&1 | tee $STAGE/$json.log; r=\${PIPESTATUS[0]}; \
    if grep -q '\[  SKIPPED \]' $STAGE/$json.log; then echo 'GPU tests SKIPPED on a GPU machine'; exit 1; fi; \
    n=\$(grep -c '^\[       OK \]' $STAGE/$json.log); \
    if [ \"\$n\" -lt $min ]; then echo \"only \$n tests passed, expected at least $min\"; exit 1; fi; exit \$r"
  keep "$json"
}
gpu_tests "gpu tests (no NCCL)" "$(limit gpu-tests)" 34 gpu_tests.json \
  '*Gpu*:*GPU*:*Cuda*:*Calibrate*:-NcclGpu.*:CudaBackendGpu.NcclTpMatchesCpu:*CalibrateWithoutDevice*'

# ---- calibration: the measured system profile (HBM, GEMM efficiency, attention; one GPU keeps
# the base profile's collective tables and says so in its sources) --------------------------------
CAL_BASE=h100-sxm; [ "$kind" = h200 ] && CAL_BASE=h200-sxm
run_step "calibrate --quick" "$(limit calibrate)" $TP calibrate --quick --base $CAL_BASE --out "$STAGE/profile.json"
keep profile.json
# The measured profile must be one that predict reads (and its table goes into the log).
if need_file "profile -> predict" "$OUT/profile.json"; then
  run_step "profile -> predict" "$(limit predict)" bash -c "$TP profile show '$OUT/profile.json' | head -12 && $TP predict \
    --profile '$OUT/profile.json' --model llama-3.1-70b --layout 1R-TP4,1R-TP8 --concurrency 1,64 --isl 10000 \
    --osl 1000 --out '$STAGE/pred.json'"
fi

# ---- sweeps (merged into one file: the device tool brings back at most 8) ------------------------
sweep_points() {  # name, file, expected points, "verify" when every point must be verified
  local r ok total
  r=$(python3 - "$STAGE/$2" "${4:-}" <<'PY' 2>/dev/null
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
  if [ "$ok" = "$3" ] && [ "$total" = "$3" ]; then step_note "$1 points" PASS "$what"
  else step_fail "$1 points" "$what"; fi
}
merge_sweeps() {  # every finished sweep of this run into OUTDIR/sweeps.json
  python3 - "$STAGE" "$OUT/sweeps.json" <<'PY' || echo "  sweeps.json: merge failed (the sweeps' own steps say more)"
import json, os, sys
stage, out = sys.argv[1], sys.argv[2]
merged = {}
for f in sorted(os.listdir(stage)):
    if f.startswith("sweep_") and f.endswith(".json"):
        try:
            merged[f[:-5]] = json.load(open(os.path.join(stage, f)))
        except Exception as e:
            merged[f[:-5]] = {"error": f"unreadable JSON ({e})"}
json.dump(merged, open(out + ".partial", "w"), indent=1)
os.replace(out + ".partial", out)
PY
}
# TP=1 has nothing sharded to verify (its --verify would compare TP=1 with itself); the GPU test
# CudaBackendGpu.Tp1MatchesCpuFp32 checks the TP=1 step against the CPU's FP32 one instead.
# Context 1024 keeps batch 256's KV cache (32 GiB) beside the 16 GB of weights on an 80 GB card.
S8=sweep_llama8b_tp1.json
run_step "sweep 8B TP=1" "$(limit sweep-8b)" $TP sweep --backend cuda --model llama-3.1-8b --tp 1 --batch 1,32,256 \
  --context 1024 --budget 1 --timeout 60 --no-progress --out "$STAGE/$S8"
sweep_points "sweep 8B TP=1" $S8 3; merge_sweeps
# Collective times of the emulated ranks from the profile of this card's kind.
S70=sweep_llama70b_emulated_tp4.json
run_step "sweep 70B emulate-tp 4" "$(limit sweep-70b-emulated)" $TP sweep --backend cuda --model llama-3.1-70b \
  --emulate-tp 4 --layers 4 --profile $CAL_BASE --batch 1,64 --context 11000 --verify --budget 1 --timeout 60 \
  --no-progress --out "$STAGE/$S70"
sweep_points "sweep 70B emulate-tp 4" $S70 2 verify; merge_sweeps
# FP8 weights (cuBLASLt FP8 GEMMs) and FP8 KV cache (the project's simple attention kernel) on the
# tiny model, --verify comparing TP=2's ranks on this GPU with TP=1 (tolerance in verify.hpp).
SF8=sweep_tiny_fp8_verify.json
run_step "sweep tiny FP8 verify" "$(limit sweep-fp8-verify)" $TP sweep --backend cuda --model tiny --emulate-tp 2 \
  --weight-dtype fp8 --kv-dtype fp8 --batch 1,8 --context 512 --verify --budget 1 --timeout 60 --no-progress \
  --out "$STAGE/$SF8"
sweep_points "sweep tiny FP8 verify" $SF8 2 verify; merge_sweeps
# One prefill chunk per point on cuDNN's flash attention (TTFT side).
SP=sweep_llama8b_prefill.json
run_step "sweep 8B prefill" "$(limit sweep-8b-prefill)" $TP sweep --backend cuda --model llama-3.1-8b --phase prefill \
  --tp 1 --batch 1,4 --context 4096 --chunk 2048 --layers 8 --budget 1 --timeout 60 --no-progress --out "$STAGE/$SP"
sweep_points "sweep 8B prefill" $SP 2; merge_sweeps

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
# The cases the summary reads, not the full grids (the DGX recipe runs those): decode GEMMs at
# m = 1 and 8 and prefill at 2048 tokens for TP 4 and 8; attention at 1k and 10k contexts.
declare -A BENCH_FILTER=(
  [bench_gemm_gpu]='gemm/(decode/.*/tp[48]/.*/m(1|8)$|prefill/cublas/tp[48]/.*/m2048$)'
  [bench_decode_attention_gpu]='decode_attention/.*/b(1|64)/ctx(1024|10240)$'
  [bench_collectives_gpu]='.'
  [bench_overlap_gpu]='.'
  [bench_hbm_bandwidth_gpu]='.'
)
declare -A BENCH_LIMIT=([bench_gemm_gpu]=30 [bench_decode_attention_gpu]=25 [bench_collectives_gpu]=25
                        [bench_overlap_gpu]=25 [bench_hbm_bandwidth_gpu]=20)
BENCHES_RUN=0
run_bench() {  # name of a bench binary
  local n=$1
  [ -x "$BUILD/bench/$n" ] || { step_fail "$n" "not built"; return; }
  BENCHES_RUN=$((BENCHES_RUN + 1))
  run_step "$n" "${BENCH_LIMIT[$n]}" bash -c "'$BUILD/bench/$n' --benchmark_filter='${BENCH_FILTER[$n]}' \
    --benchmark_min_time=0.05 --benchmark_out='$STAGE/bench/$n.json' --benchmark_out_format=json >'$STAGE/bench/$n.txt'"
  merge_benchmarks >/dev/null 2>&1
}
# The benches that need no NCCL first, then the one-GPU NCCL tests (one-rank communicators; the
# multi-GPU ones need a DGX), then the benches that use NCCL: NCCL's bootstrap is the step most
# likely to hang in a VM, and it should cost only what comes after it.
for n in bench_hbm_bandwidth_gpu bench_gemm_gpu bench_decode_attention_gpu; do run_bench $n; done
gpu_tests "nccl tests (one GPU)" "$(limit nccl-tests)" 5 nccl_tests.json \
  'NcclGpu.*:-NcclGpu.CollectiveCommandWithoutGpuIsUnavailable'
for n in bench_collectives_gpu bench_overlap_gpu; do run_bench $n; done
if [ "$BENCHES_RUN" -eq 0 ]; then step_fail "benchmarks.json" "no GPU benchmark binary was built"
elif merge_benchmarks; then step_note "benchmarks.json" PASS "$(ls "$STAGE"/bench/*.json 2>/dev/null | wc -l) of $BENCHES_RUN binaries' JSON merged"
else step_fail "benchmarks.json" "errors above"; fi

# ---- memory checker over the kernels' tests, in what is left beyond the margin ----------------
SANITIZER=$(command -v compute-sanitizer || ls "$(dirname "${NVCC:-/usr/local/cuda/bin/nvcc}")"/compute-sanitizer 2>/dev/null | head -1)
left=$((STEPS_DEADLINE - SECONDS - MARGIN_S / 2))
if [ -n "$SANITIZER" ] && [ "$left" -ge 45 ]; then
  limit_s=$(( left < 90 ? left : 90 ))
  echo "== compute-sanitizer memcheck: KernelGpu.* (limit $limit_s s)"
  timeout -k 10 "$limit_s" "$SANITIZER" --tool memcheck --error-exitcode 9 \
    $BUILD/tests/tpbench_tests --gtest_filter='KernelGpu.*' >"$STAGE/memcheck.txt" 2>&1
  rc=$?
  tail -15 "$STAGE/memcheck.txt"
  IFS=$'\t' read -r result detail <<<"$(classify_memcheck "$rc" "$STAGE/memcheck.txt")"
  if [ "$result" = FAIL ]; then step_fail "memcheck KernelGpu" "$detail"; else step_note "memcheck KernelGpu" "$result" "$detail"; fi
else
  step_note "memcheck KernelGpu" SKIP "no compute-sanitizer or no time left"
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
[ -f "$OUT/sweeps.json" ] && python3 - "$OUT/sweeps.json" <<'PY'
import json, sys
for name, d in json.load(open(sys.argv[1])).items():
    for p in d.get("points", []):
        em = " EMULATED" if p.get("emulated") else ""
        if p["status"] != "ok":
            print(f"  {name} {p['plan']} TP={p['tp']} B={p['batch']}: {p['status']} {p.get('reason','')}")
            continue
        k = p.get("kernels") or {}
        print(f"  {d['model']['name']} {p['phase']} TP={p['tp']}{em} B={p['batch']:>4} ctx={p['context']}: "
              f"step {p['step_time_s']['median']*1e3:8.3f} ms tok/s/gpu {p['tokens_per_s_per_gpu']:9.1f} "
              f"attention {k.get('attention', '?')} verified={'n/a' if p['verified'] is None else p['verified']}")
PY
[ -f "$OUT/benchmarks.json" ] && python3 - "$OUT/benchmarks.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])).get("bench_decode_attention_gpu", {})
for b in d.get("benchmarks", []):
    if "ours_over_library" in b:
        print(f"  {b['name']}: ours {b['ours_us']:.1f} us, cuDNN {b['library_us']:.1f} us, ours/cuDNN {b['ours_over_library']:.2f}")
PY
steps_summary
rc=$?
# Let the log's tee drain before the device tool collects OUTDIR.
exec >&- 2>&-
wait "$TEE_PID" 2>/dev/null
exit $rc
