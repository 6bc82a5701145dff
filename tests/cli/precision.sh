#!/usr/bin/env bash
# Precision options and the hardware profiles: FP8 on a GPU without FP8 tensor cores, unknown
# dtypes, quantization methods the tool does not model and the weight-gather plan with FP8
# weights exit 2 with one stderr line naming the reason and write no file; FP8 on Hopper and
# Blackwell predicts and records the dtypes; a profile file may start from a built-in.
# Usage: precision.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"

cfg() {  # cfg FILE QUANTIZATION_JSON: a Llama-3.1-8B config.json with that quantization_config
  printf '{"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
"num_key_value_heads": 8, "vocab_size": 128256, "torch_dtype": "bfloat16", "quantization_config": %s}' "$2" >"$1"
}
cfg "$TMP/awq.json" '{"quant_method": "awq", "bits": 4}'
cfg "$TMP/fp8.json" '{"quant_method": "fp8", "activation_scheme": "dynamic"}'

expect_usage_error "$TMP/o.json" predict --profile a100-sxm-80gb --layout 1R-TP8 --concurrency 1 --weight-dtype fp8 --out "$TMP/o.json"
"$TPBENCH" predict --profile a100-sxm-80gb --layout 1R-TP8 --concurrency 1 --weight-dtype fp8 2>&1 |
  grep -q "no FP8 tensor cores" || { echo "FAIL: the A100 refusal does not give the reason"; fail=1; }
expect_usage_error "$TMP/o.json" predict --layout 1R-TP8 --concurrency 1 --kv-dtype int8 --out "$TMP/o.json"
expect_usage_error "$TMP/o.json" predict --model-config "$TMP/awq.json" --layout 1R-TP8 --concurrency 1 --out "$TMP/o.json"
"$TPBENCH" predict --model-config "$TMP/awq.json" --layout 1R-TP8 --concurrency 1 2>&1 | grep -q "'awq'" ||
  { echo "FAIL: the awq refusal does not name the method"; fail=1; }
expect_usage_error "$TMP/o.json" predict --layout 1R-TP4 --plan weight-gather --weight-dtype fp8 --out "$TMP/o.json"
# The cpu backend runs FP8 as the GPU stores it; --verify holds within the FP8 tolerance.
"$TPBENCH" sweep --backend cpu --model tiny --tp 1,2,4 --batch 2 --context 64 --weight-dtype fp8 --kv-dtype fp8 --verify \
  --no-progress --out "$TMP/sweep.json" >/dev/null || { echo "FAIL: fp8 cpu sweep with --verify"; fail=1; }
python3 - "$TMP/sweep.json" <<'PY' || { echo "FAIL: fp8 sweep document"; fail=1; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["model"]["weight_dtype"] == "float8_e4m3fn" and d["model"]["kv_dtype"] == "float8_e4m3fn", d["model"]
PY

for prof in h100-sxm b200 gb200-nvl72; do
  "$TPBENCH" predict --profile "$prof" --model-config "$TMP/fp8.json" --kv-dtype fp8 --layout 1R-TP4 --concurrency 1,32 \
    --out "$TMP/$prof.json" >/dev/null || { echo "FAIL: fp8 predict on $prof"; fail=1; }
  python3 - "$TMP/$prof.json" <<'PY' || { echo "FAIL: $prof document dtypes"; fail=1; }
import json, sys
m = json.load(open(sys.argv[1]))["model"]
assert m["weight_dtype"] == "float8_e4m3fn" and m["kv_dtype"] == "float8_e4m3fn", m
PY
done

"$TPBENCH" profile show | grep -q "^gb200-nvl72 " || { echo "FAIL: profile show does not list the built-ins"; fail=1; }
printf '{"base": "b200", "name": "b200-slow-hbm", "hbm_bandwidth": 6e12}' >"$TMP/based.json"
"$TPBENCH" profile show "$TMP/based.json" | grep -q "6.000 TB/s achievable" ||
  { echo "FAIL: a profile file based on b200"; fail=1; }
printf '{"base": "b100"}' >"$TMP/badbase.json"
expect_usage_error "$TMP/x" profile show "$TMP/badbase.json"
finish
