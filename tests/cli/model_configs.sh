#!/usr/bin/env bash
# Published configs of models tpbench does not model (latent attention, sliding window, quantized
# weights) are refused by every command that reads --model-config, with one line naming the
# field; the supported ones (dense, and Mixtral's experts) predict.
# Usage: model_configs.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
CFG="$SRC/tests/fixtures/hf_configs"
P="$TMP/p.json"

for pair in deepseek-v3:kv_lora_rank \
            mistral-7b-v0.1:sliding_window llama-3.1-8b-awq:quant_method; do
  file="$CFG/${pair%%:*}.json"
  field="${pair#*:}"
  for cmd in "predict --layout 1R-TP8 --concurrency 1" "sweep --backend cpu --tp 1 --batch 1 --layers 1"; do
    expect_usage_error "$P" $cmd --model-config "$file" --out "$P"
    err=$("$BIN" $cmd --model-config "$file" --out "$P" 2>&1 >/dev/null)
    [[ "$err" == *"$field"* ]] || { echo "FAIL: $file: '$err' does not name $field"; fail=1; }
  done
done
for ok in llama-3.1-8b mistral-7b-instruct-v0.2 mixtral-8x7b; do
  "$BIN" predict --model-config "$CFG/$ok.json" --layout 1R-TP8 --concurrency 1 --out "$P" >/dev/null 2>&1 &&
    [[ -s $P ]] && echo "ok: $ok predicts" || { echo "FAIL: $ok was refused"; fail=1; }
done
finish
