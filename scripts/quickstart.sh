#!/usr/bin/env bash
# One command from a fresh checkout: install dependencies, build, run the main job.
# With a usable NVIDIA GPU: a Llama-3.1-8B TP=1 decode sweep on it; without: a CPU sweep of the
# `tiny` model over all three plans with verification against the unsharded step. Then the model
# side, which needs no GPU: four llm-d configurations predicted from the H100 profile and compared
# with llm-d, the toy model fitted to both, and the explain report (the whole llm-d grid) with its
# Pareto plot (all under out/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
mkdir -p out
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && [ -e build/CMakeFiles/tpbench_cuda.dir ]; then
  ./build/tpbench sweep --backend cuda --model llama-3.1-8b --tp 1 --batch 1,8,32,64,128,256 --context 1024 \
    --out out/sweep.json
else
  ./build/tpbench sweep --backend cpu --model tiny --plan tp,tp-sp,weight-gather --tp 1,2,4 --batch 1,4,16 \
    --context 1024 --verify --out out/sweep.json
fi
REF=results/llmd/llmd_pd_sweep_exact_from_tables.csv
./build/tpbench predict --profile h100-sxm --model llama-3.1-70b \
  --layout 1R-TP2,1R-TP4,1R-TP8,"1P-TP8 1D-TP8" --concurrency 1,8,32,64,128,256 --isl 10000 --osl 1000 \
  --out out/pred.json
./build/tpbench compare --reference "$REF" --predicted out/pred.json --json out/compare.json
./build/tpbench toy --curves "$REF",out/pred.json --configs 1R-TP2,1R-TP4,1R-TP8 --json out/toy.json
./build/tpbench explain --profile h100-sxm --reference "$REF" \
  --latency results/llmd/llmd_pd_sweep_latency_digitized.csv --out out/report.md
echo "quickstart: out/sweep.json (measured), out/pred.json, out/compare.json, out/toy.json, out/report.md"
