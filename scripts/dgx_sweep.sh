#!/usr/bin/env bash
# The full study on an 8-GPU NVLink node (DGX/HGX H100 or H200), as README "Reproducing the
# study" describes:  bash scripts/dgx_sweep.sh [OUTDIR]
# calibrate -> sweep TP 1/2/4/8 x plans x overlap x batches, decode and prefill -> predict ->
# compare with llm-d -> plots -> explain. Expect a few hours; every step writes JSON atomically.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-results/$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr 'A-Z ' 'a-z-')-x8}
mkdir -p "$OUT"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTPBENCH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
cmake --build build -j"$(nproc)"
TP=build/tpbench
BATCH=1,8,32,64,128,256
# 1. Ceilings of this node: HBM, GEMM efficiency, collective tables for groups of 2/4/8.
$TP calibrate --out "$OUT/profile.json"
# 2. Decode sweeps: all plans and overlap modes (split only exists for tp).
$TP sweep --backend cuda --model llama-3.1-70b --plan tp,tp-sp,weight-gather --overlap none,streams \
  --tp 2,4,8 --batch $BATCH --context 11000 --verify --out "$OUT/sweep_decode.json"
$TP sweep --backend cuda --model llama-3.1-70b --plan tp --overlap split --tp 2,4,8 --batch $BATCH \
  --context 11000 --out "$OUT/sweep_decode_split.json"
$TP sweep --backend cuda --model llama-3.1-8b --tp 1,2,4,8 --batch $BATCH --context 11000 --out "$OUT/sweep_decode_8b.json"
# 3. Prefill (TTFT side): 10k-token prompts in 2k chunks.
$TP sweep --backend cuda --model llama-3.1-70b --phase prefill --context 10000 --chunk 2048 --tp 2,4,8 \
  --batch 1,2,4 --out "$OUT/sweep_prefill.json"
# 4. Predict with the measured profile, compare with the llm-d reference and with the sweeps.
$TP predict --profile "$OUT/profile.json" --model llama-3.1-70b \
  --layout 1R-TP2,1R-TP4,1R-TP8,2R-TP4,4R-TP2,2R-TP8,"1P-TP8 1D-TP8","2P-TP4 1D-TP8" \
  --concurrency $BATCH --isl 10000 --osl 1000 --out "$OUT/pred.json"
$TP compare --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --predicted "$OUT/pred.json" --json "$OUT/compare.json"
# The same serving simulation with step times interpolated from this node's own sweeps.
$TP predict --model llama-3.1-70b --profile "$OUT/profile.json" --measured "$OUT/sweep_decode.json,$OUT/sweep_prefill.json" \
  --layout 1R-TP2,1R-TP4,1R-TP8,2R-TP4 --concurrency $BATCH --isl 10000 --osl 1000 --out "$OUT/pred_measured.json"
$TP compare --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --predicted "$OUT/pred_measured.json" --json "$OUT/compare_pred_measured.json"
$TP compare --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv --predicted "$OUT/sweep_decode.json" --json "$OUT/compare_measured.json"
python3 scripts/plot_pareto.py --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv \
  --predicted "$OUT/pred.json" --measured "$OUT/sweep_decode.json" --out "$OUT/pareto.png"
$TP explain --profile "$OUT/profile.json" --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv \
  --latency results/llmd/llmd_pd_sweep_latency_digitized.csv --out "$OUT/explain.md"
echo "done: $OUT"
