#!/usr/bin/env bash
# The full study on an 8-GPU NVLink node (DGX/HGX H100 or H200), as docs/gpu.md
# describes:  bash scripts/dgx_sweep.sh [OUTDIR]
# calibrate -> sweep TP 2/4/8 x plans x overlap x batches, decode and prefill -> predict ->
# compare with llm-d -> plots -> explain, then a summary table of every step. Expect a few
# hours; every sweep writes its JSON atomically after each point.
# Every GPU step has a time limit (a hang costs that step, not the night); a step that fails is
# reported and the next one runs; each sweep is checked for an ok point in every layout it was
# asked for (a layout without one is a failed line in the summary, not an abort); a
# post-processing step whose input is missing is reported as skipped. Ninja when installed, else make. NCCL and cuDNN are found the way the main build finds them (scripts/lib/gpu_steps.sh).
# Exit status: 0 when every step passed.
#   DGX_DRY_RUN=1 bash scripts/dgx_sweep.sh OUT   prints every step's command instead of running it
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/gpu_steps.sh

OUT=${1:-results/$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr 'A-Z ' 'a-z-')-x8}
mkdir -p "$OUT"
STEPS_FILE=$OUT/summary.txt
: >"$STEPS_FILE"
DRY=${DGX_DRY_RUN:-0}
# In a dry run every step "runs" `echo` of its command: the sequence, the limits and the
# summary are exercised without a GPU (tests/cli/gpu_scripts.sh; tests/cli/dgx_sweep_fake.sh runs
# the real sequence against stand-in cmake and tpbench binaries).
step() {  # name, limit in seconds, command...
  local name=$1 limit=$2
  shift 2
  if [ "$DRY" = 1 ]; then run_step "$name" "$limit" echo "$@"; else run_step "$name" "$limit" "$@"; fi
}
have() { [ "$DRY" = 1 ] || need_file "$1" "$2"; }  # have STEP FILE: the step's input exists

# Limits (seconds): generous against the estimates in the comments, which are for an 8 x H100
# node; they exist to bound a hang, not to time the work.
H=3600
NCCL_ROOT_FOUND=$(find_nccl_root)
CUDNN_ROOT_FOUND=$(find_cudnn_root)
CUDNN_FE_FOUND=$(find_cudnn_frontend)
echo "NCCL: ${NCCL_ROOT_FOUND:-NOT FOUND}; cuDNN: ${CUDNN_ROOT_FOUND:-NOT FOUND}; cudnn-frontend: ${CUDNN_FE_FOUND:-NOT FOUND}"
[ -n "$NCCL_ROOT_FOUND" ] && export LD_LIBRARY_PATH="$NCCL_ROOT_FOUND/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
[ -n "$CUDNN_ROOT_FOUND" ] && export LD_LIBRARY_PATH="$CUDNN_ROOT_FOUND/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
GEN=$(cmake_generator)
echo "generator: $GEN"
# ~20 s configure, a few minutes of build on a DGX's cores. cuDNN is used where found (AUTO), as
# the device check does: without it the prefill sweep's points are not_runnable and say why.
step configure 300 cmake -S . -B build -G "$GEN" -DCMAKE_BUILD_TYPE=Release -DTPBENCH_CUDA=ON \
  -DTPBENCH_CUDNN=AUTO -DCMAKE_CUDA_ARCHITECTURES=90 -DNCCL_ROOT="$NCCL_ROOT_FOUND" \
  -DCUDNN_ROOT="$CUDNN_ROOT_FOUND" -DCUDNN_FRONTEND_ROOT="$CUDNN_FE_FOUND"
step build 1800 cmake --build build -j"$(nproc)"
TP=build/tpbench
BATCH=1,8,32,64,128,256
REF=results/llmd/llmd_pd_sweep_exact_from_tables.csv
# 1. Ceilings of this node: HBM, GEMM efficiency, collective tables for groups of 2/4/8 (~15 min).
step calibrate $H $TP calibrate --out "$OUT/profile.json"
# sweep_step NAME LIMIT FILE PLANS OVERLAPS TPS ARGS...: one sweep, then the check that each of
# its layouts has an ok point (a layout that could not run is reported, the next step runs).
sweep_step() {
  local name=$1 limit=$2 file=$3 plans=$4 overlaps=$5 tps=$6
  shift 6
  step "$name" "$limit" $TP sweep --backend cuda --plan "$plans" --overlap "$overlaps" --tp "$tps" "$@" \
    --no-progress --out "$file"
  [ "$DRY" = 1 ] || sweep_layouts "$name" "$file" "$plans" "$overlaps" "$tps"
}
# 2. Decode sweeps: all plans and overlap modes (split only exists for tp). ~1-2 h together.
sweep_step "sweep decode" $((4 * H)) "$OUT/sweep_decode.json" tp,tp-sp,weight-gather none,streams 2,4,8 \
  --model llama-3.1-70b --batch $BATCH --context 11000 --verify
sweep_step "sweep decode split" $((2 * H)) "$OUT/sweep_decode_split.json" tp split 2,4,8 \
  --model llama-3.1-70b --batch $BATCH --context 11000
sweep_step "sweep decode 8B" $((2 * H)) "$OUT/sweep_decode_8b.json" tp none 1,2,4,8 \
  --model llama-3.1-8b --batch $BATCH --context 11000
# 3. Prefill (TTFT side): 10k-token prompts in 2k chunks on cuDNN's flash attention (~20 min).
sweep_step "sweep prefill" $((2 * H)) "$OUT/sweep_prefill.json" tp none 2,4,8 \
  --model llama-3.1-70b --phase prefill --context 10000 --chunk 2048 --batch 1,2,4
# 4. Predict with the measured profile, compare with the llm-d reference and with the sweeps
#    (seconds each). Each runs when its inputs exist, whatever happened to the others.
if have predict "$OUT/profile.json"; then
  step predict 600 $TP predict --profile "$OUT/profile.json" --model llama-3.1-70b \
    --layout 1R-TP2,1R-TP4,1R-TP8,2R-TP4,4R-TP2,2R-TP8,"1P-TP8 1D-TP8","2P-TP4 1D-TP8" \
    --concurrency $BATCH --isl 10000 --osl 1000 --out "$OUT/pred.json"
fi
have compare "$OUT/pred.json" &&
  step compare 300 $TP compare --reference $REF --predicted "$OUT/pred.json" --json "$OUT/compare.json"
# The same serving simulation with step times interpolated from this node's own sweeps.
if have "predict --measured" "$OUT/profile.json" && have "predict --measured" "$OUT/sweep_decode.json" &&
   have "predict --measured" "$OUT/sweep_prefill.json"; then
  step "predict --measured" 600 $TP predict --model llama-3.1-70b --profile "$OUT/profile.json" \
    --measured "$OUT/sweep_decode.json,$OUT/sweep_prefill.json" --layout 1R-TP2,1R-TP4,1R-TP8,2R-TP4 \
    --concurrency $BATCH --isl 10000 --osl 1000 --out "$OUT/pred_measured.json"
fi
have "compare predict --measured" "$OUT/pred_measured.json" &&
  step "compare predict --measured" 300 $TP compare --reference $REF --predicted "$OUT/pred_measured.json" \
    --json "$OUT/compare_pred_measured.json"
have "compare sweep" "$OUT/sweep_decode.json" &&
  step "compare sweep" 300 $TP compare --reference $REF --predicted "$OUT/sweep_decode.json" --json "$OUT/compare_measured.json"
if have plot "$OUT/pred.json" && have plot "$OUT/sweep_decode.json"; then
  # matplotlib may be missing on a GPU node: the plot is reported, the explain still runs.
  step plot 300 python3 scripts/plot_pareto.py --reference $REF --predicted "$OUT/pred.json" \
    --measured "$OUT/sweep_decode.json" --out "$OUT/pareto.png"
fi
have explain "$OUT/profile.json" &&
  step explain 900 $TP explain --profile "$OUT/profile.json" --reference $REF \
    --latency results/llmd/llmd_pd_sweep_latency_digitized.csv --out "$OUT/explain.md"

echo
echo "== dgx_sweep summary: $OUT, $(date -u +%FT%TZ)"
steps_summary
