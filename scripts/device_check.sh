#!/usr/bin/env bash
# The one prepared command for a one-GPU H100/H200 machine (see README "Real hardware"):
#   bash scripts/device_check.sh [OUTDIR]
# 1. finds nvcc, cuBLAS and NCCL (CUDA toolkit, or Python's nvidia-* packages) and prints them;
# 2. builds with -arch=sm_90 (dependencies from .deps/*.deb when the machine has no registry);
# 3. runs the GPU tests (they must not skip here), `tpbench calibrate --quick` (the measured
#    system profile, OUTDIR/profile.json), a Llama-3.1-8B TP=1 decode sweep at batch
#    1..256, a Llama-3.1-70B --emulate-tp 4 sweep over 4 layers with --verify
#    (EMULATED: rank 0 of TP=4 runs for real, collective times come from the h100-sxm profile),
#    and the GPU micro-benchmarks;
# 4. writes to OUTDIR (default results/<gpu-kind>/): gpu_tests.json and gpu_tests.log,
#    profile.json, two sweeps, benchmarks.json and summary.txt (each step's result as it ends, so
#    a run cut short still says how far it got) — at most 8 files, what the device tool brings
#    back — and prints a summary table last.
# Budget: under 8 minutes on one H100: each step gets at most STEP_TIMEOUT seconds and the whole
# run DEADLINE_S seconds; a step that would start with less than 20 s left is skipped (and
# counted as failed). Every step runs even if an earlier one failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STEP_TIMEOUT=${STEP_TIMEOUT:-240}
DEADLINE=$((SECONDS + ${DEADLINE_S:-470}))
declare -a SUMMARY=()
FAILED=0
SUMMARY_FILE=/dev/null
note() {
  SUMMARY+=("$(printf '%-34s %-7s %s' "$1" "$2" "$3")")
  printf '%-34s %-7s %s\n' "$1" "$2" "$3" >>"$SUMMARY_FILE"
}
run_step() {  # name, command...
  local name=$1; shift
  local t0=$SECONDS left=$((DEADLINE - SECONDS))
  if [ "$left" -lt 20 ]; then note "$name" SKIP "run deadline reached"; FAILED=$((FAILED + 1)); return; fi
  local limit=$(( left < STEP_TIMEOUT ? left : STEP_TIMEOUT ))
  echo "== $name (limit ${limit} s): $*"
  # -k: a process stuck in the driver ignores SIGTERM; SIGKILL it 15 s later.
  if timeout -k 15 "$limit" "$@"; then note "$name" PASS "$((SECONDS - t0)) s"
  else local rc=$?; note "$name" FAIL "exit $rc after $((SECONDS - t0)) s"; FAILED=$((FAILED + 1)); fi
}

gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
case "$gpu_name" in
  *H200*) kind=h200 ;; *H100*) kind=h100 ;; "") kind=nogpu ;; *) kind=$(echo "$gpu_name" | tr 'A-Z ' 'a-z-') ;;
esac
OUT=${1:-results/$kind}
mkdir -p "$OUT"
SUMMARY_FILE=$OUT/summary.txt
: >"$SUMMARY_FILE"
echo "GPU: ${gpu_name:-none} -> $OUT"

# ---- toolchain discovery --------------------------------------------------------------------
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null | head -1)
echo "nvcc: ${NVCC:-NOT FOUND} $($NVCC --version 2>/dev/null | tail -1)"
PYNV=$(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]) + "/nvidia")' 2>/dev/null || true)
NCCL_ROOT_FOUND=""
for d in "${NCCL_ROOT:-}" /usr/local/cuda /usr "$PYNV/nccl"; do
  [ -n "$d" ] && [ -f "$d/include/nccl.h" ] && { NCCL_ROOT_FOUND=$d; break; }
done
echo "NCCL: ${NCCL_ROOT_FOUND:-NOT FOUND}"
if [ -n "$NCCL_ROOT_FOUND" ] && [ ! -e "$NCCL_ROOT_FOUND/lib/libnccl.so" ] && [ -e "$NCCL_ROOT_FOUND/lib/libnccl.so.2" ]; then
  # pip wheels ship only the versioned library: give the linker the plain name.
  mkdir -p /tmp/tpbench-nccl/lib && ln -sf "$NCCL_ROOT_FOUND/lib/libnccl.so.2" /tmp/tpbench-nccl/lib/libnccl.so
  ln -sfn "$NCCL_ROOT_FOUND/include" /tmp/tpbench-nccl/include
  NCCL_ROOT_FOUND=/tmp/tpbench-nccl
  export LD_LIBRARY_PATH="$PYNV/nccl/lib:${LD_LIBRARY_PATH:-}"
fi
CUBLAS=$(ls /usr/local/cuda/lib64/libcublasLt.so* 2>/dev/null | head -1)
[ -z "$CUBLAS" ] && [ -n "$PYNV" ] && CUBLAS=$(ls "$PYNV"/cublas/lib/libcublasLt.so* 2>/dev/null | head -1)
echo "cuBLASLt: ${CUBLAS:-NOT FOUND}"

# ---- dependencies without a registry: unpack carried .debs ------------------------------------
PREFIX_ARGS=()
if [ -d .deps ] && ls .deps/*.deb >/dev/null 2>&1; then
  DEPS=/tmp/tpbench-deps
  mkdir -p $DEPS
  for f in .deps/*.deb; do dpkg -x "$f" $DEPS; done
  export CPATH="$DEPS/usr/include:$DEPS/usr/include/x86_64-linux-gnu/openblas-pthread:${CPATH:-}"
  export LD_LIBRARY_PATH="$DEPS/usr/lib/x86_64-linux-gnu:$DEPS/usr/lib/x86_64-linux-gnu/openblas-pthread:${LD_LIBRARY_PATH:-}"
  export LIBRARY_PATH="$LD_LIBRARY_PATH"
  # Debian's OpenBLAS config points at /usr: use the unpacked copy instead.
  OB=$DEPS/usr/lib/x86_64-linux-gnu/openblas-pthread/cmake/openblas
  sed -i "s#/usr/#$DEPS/usr/#g" $OB/OpenBLASConfig.cmake
  PREFIX_ARGS=(-DCMAKE_PREFIX_PATH="$DEPS/usr;$DEPS/usr/lib/x86_64-linux-gnu/cmake" -DOpenBLAS_DIR="$OB")
  echo "dependencies: unpacked $(ls .deps/*.deb | wc -l) .deb files into $DEPS"
fi

# ---- build ----------------------------------------------------------------------------------
BUILD=build-device
run_step "configure (sm_90)" cmake -S . -B $BUILD -G Ninja -DCMAKE_BUILD_TYPE=Release -DTPBENCH_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$NVCC" -DNCCL_ROOT="$NCCL_ROOT_FOUND" -DTPBENCH_MPI=OFF "${PREFIX_ARGS[@]}"
run_step "build" cmake --build $BUILD -j"$(nproc)"
TP=$BUILD/tpbench

# ---- GPU tests: they must run, not skip (the two excluded need 2+ GPUs or no GPU) -------------
run_step "gpu tests" bash -c "$BUILD/tests/tpbench_tests --gtest_filter='*Gpu*:*GPU*:*Nccl*:*Cuda*:-CudaBackendGpu.NcclTpMatchesCpu:NcclGpu.CollectiveCommandWithoutGpuIsUnavailable' \
  --gtest_output=json:$OUT/gpu_tests.json 2>&1 | tee $OUT/gpu_tests.log; r=\${PIPESTATUS[0]}; \
  ! grep -q '\[  SKIPPED \]' $OUT/gpu_tests.log && exit \$r; echo 'GPU tests SKIPPED on a GPU machine'; exit 1"

# ---- calibration: the measured system profile (HBM, GEMM efficiency, attention; one GPU keeps
# the base profile's collective tables and says so in its sources) --------------------------------
CAL_BASE=h100-sxm; [ "$kind" = h200 ] && CAL_BASE=h200-sxm
run_step "calibrate --quick" $TP calibrate --quick --base $CAL_BASE --out "$OUT/profile.json"

# ---- sweeps ---------------------------------------------------------------------------------
# TP=1 has nothing sharded to verify (its --verify would compare TP=1 with itself); the GPU test
# CudaBackendGpu.Tp1MatchesCpuFp32 checks the TP=1 step against the CPU's FP32 one instead.
# Context 1024 keeps batch 256's KV cache (32 GiB) beside the 16 GB of weights on an 80 GB card.
run_step "sweep 8B TP=1" $TP sweep --backend cuda --model llama-3.1-8b --tp 1 --batch 1,8,32,64,128,256 \
  --context 1024 --budget 1 --timeout 120 --no-progress --out "$OUT/sweep_llama8b_tp1.json"
# Collective times of the emulated ranks from the profile of this card's kind.
run_step "sweep 70B emulate-tp 4" $TP sweep --backend cuda --model llama-3.1-70b --emulate-tp 4 --layers 4 \
  --profile $CAL_BASE \
  --batch 1,8,32,64 --context 11000 --verify --budget 1 --timeout 120 --no-progress \
  --out "$OUT/sweep_llama70b_emulated_tp4.json"

# ---- micro-benchmarks -------------------------------------------------------------------------
# The device tool brings back at most 8 files: the benchmarks' JSON is merged into one.
BENCH_TMP=$(mktemp -d)
BENCHES=0
for b in $BUILD/bench/bench_*_gpu; do
  [ -x "$b" ] || continue
  BENCHES=$((BENCHES + 1))
  n=$(basename "$b")
  run_step "$n" "$b" --benchmark_min_time=0.05 --benchmark_out="$BENCH_TMP/$n.json" --benchmark_out_format=json
done
# One binary killed or crashed (unterminated JSON) must not lose the others' results, and a
# benchmark that reported an error (a bench binary exits 0 regardless) must fail this step.
if python3 - "$BENCH_TMP" "$OUT/benchmarks.json" <<'PY'
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
json.dump(merged, open(out, "w"), indent=1)
sys.exit(1 if bad else 0)
PY
then note "benchmarks.json" PASS "$(ls "$BENCH_TMP"/*.json 2>/dev/null | wc -l) of $BENCHES binaries' JSON merged"
else note "benchmarks.json" FAIL "errors above"; FAILED=$((FAILED + 1)); fi

# ---- summary (last) ---------------------------------------------------------------------------
echo
echo "== device_check summary: ${gpu_name:-no GPU}, commit $(git rev-parse --short HEAD 2>/dev/null), $(date -u +%FT%TZ)"
[ -f "$OUT/profile.json" ] && python3 - "$OUT/profile.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print(f"  profile {p['name']}: HBM read {p['hbm_bandwidth']/1e12:.3f} TB/s, BF16 GEMM {p['matmul_flops']/1e12:.0f} TFLOP/s, "
      f"decode attention {p.get('decode_attention_bandwidth', 0)/1e12:.3f} TB/s")
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
if [ "$FAILED" -eq 0 ]; then echo "all steps passed" | tee -a "$SUMMARY_FILE"
else echo "$FAILED step(s) failed" | tee -a "$SUMMARY_FILE"; exit 1; fi
