#!/usr/bin/env bash
# One command from a fresh checkout: install dependencies, build, run the main job.
# With a usable NVIDIA GPU: a Llama-3.1-8B TP=1 decode sweep on it; without: a CPU sweep of the
# `tiny` model over all three plans with verification against the unsharded step.
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
