#!/usr/bin/env bash
# Mixture-of-experts models: `models` shows their total and active parameters (presets and
# config.json), predict and sweep plan them with expert parallelism, layouts that cannot shard
# the experts are refused with one line and exit 2, and config fields of attention the plans do
# not model are refused by name.
# Usage: moe_models.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
FIX="$SRC/tests/fixtures"
REF="$SRC/results/llmd/llmd_pd_sweep_exact_from_tables.csv"
O="$TMP/out.json"

# models --json: Mixtral-8x7B's counts against a hand count (see moe_model_spec_test.cpp):
# 32 layers of attention 41,943,040 + router 32,768 + norms 8,192 + 8 (or 2) experts of
# 176,160,768; embedding and LM head 2 * 32000 * 4096; final norm 4096.
"$BIN" models --json >"$TMP/models.json" || { echo "FAIL: models --json"; fail=1; }
python3 - "$TMP/models.json" <<'PY' || fail=1
import json, sys
models = {m["name"]: m for m in json.load(open(sys.argv[1]))}
m = models["mixtral-8x7b"]
outside = 2 * 32000 * 4096 + 4096
want_total = 32 * (41943040 + 32768 + 8192 + 8 * 176160768) + outside
want_active = 32 * (41943040 + 32768 + 8192 + 2 * 176160768) + outside
ok = (m["parameters"] == want_total and m["active_parameters_per_token"] == want_active
      and m["weight_bytes"] == 2 * want_total and m["kv_bytes_per_token"] == 2 * 32 * 8 * 128 * 2
      and m["experts"]["routed"] == 8 and m["experts"]["per_token"] == 2 and m["experts"]["moe_layers"] == 32
      and "experts" not in models["llama-3.1-8b"]
      and models["llama-3.1-8b"]["active_parameters_per_token"] == models["llama-3.1-8b"]["parameters"])
print("ok: models --json counts" if ok else "FAIL: models --json: %s" % m)
sys.exit(0 if ok else 1)
PY
out=$("$BIN" models --model-config "$FIX/qwen3_30b_a3b_config.json") || { echo "FAIL: models --model-config"; fail=1; }
grep -q "^Qwen/Qwen3-30B-A3B .* 8/128 " <<<"$out" || { echo "FAIL: models --model-config row: $out"; fail=1; }
[[ $(grep -c "^Qwen/\|^mixtral" <<<"$out") -eq 1 ]] || { echo "FAIL: the config's row only: $out"; fail=1; }

# MoE models are planned as experts: predict takes TPnEPe layouts (the prediction records EP),
# a sweep on the cpu backend verifies every TP/EP sharding against the unsharded step, and
# layouts that cannot shard the experts are refused by name.
MIX="$FIX/mixtral_8x7b_config.json"
"$BIN" predict --model-config "$MIX" --layout 1R-TP2,1R-TP2EP2 --concurrency 1 --out "$O" >/dev/null ||
  { echo "FAIL: predict of an MoE config"; fail=1; }
python3 - "$O" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
eps = sorted(p["breakdown"]["replicas"]["ep"] for p in d["points"])
ok = eps == [1, 2] and all(p["tpot_s"] > 0 for p in d["points"])
print("ok: predict records EP" if ok else "FAIL: predict points: %s" % eps)
sys.exit(0 if ok else 1)
PY
"$BIN" sweep --backend cpu --model tiny-moe --tp 2,4 --ep 1,2,4 --batch 3 --context 32 --verify --out "$O" >/dev/null ||
  { echo "FAIL: sweep of the tiny MoE model"; fail=1; }
python3 - "$O" <<'PY' || fail=1
import json, sys
pts = json.load(open(sys.argv[1]))["points"]
got = sorted((p["tp"], p["ep"], p["verified"]) for p in pts)
ok = got == [(2, 1, True), (2, 2, True), (4, 1, True), (4, 2, True), (4, 4, True)]
print("ok: every TP/EP sharding verified" if ok else "FAIL: sweep points: %s" % got)
sys.exit(0 if ok else 1)
PY
expect_usage_error "$O" predict --model mixtral-8x7b --layout 1R-TP16EP16 --concurrency 1 --out "$O"
err=$("$BIN" predict --model mixtral-8x7b --layout 1R-TP16EP16 --concurrency 1 2>&1 >/dev/null)
[[ "$err" == *"EP does not divide the 8 experts"* ]] || { echo "FAIL: EP16 over 8 experts: $err"; fail=1; }
expect_usage_error "$O" predict --model llama-3.1-8b --layout 1R-TP2EP2 --concurrency 1 --out "$O"
expect_usage_error "$O" predict --model mixtral-8x7b --layout 1R-TP4EP3 --concurrency 1 --out "$O"
expect_usage_error "$O" sweep --backend cpu --model tiny-moe --tp 2 --ep 4 --batch 1 --out "$O"
expect_usage_error "$O" predict --model mixtral-8x7b --plan tp-sp --layout 1R-TP2 --concurrency 1 --out "$O"
expect_usage_error "$O" calibrate --model mixtral-8x7b --out "$O"

# Attention the plans do not model: refused naming the field, by models and by predict.
cfg='{"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 8,
      "num_key_value_heads": 4, "vocab_size": 1024'
for field in '"kv_lora_rank": 512' '"q_lora_rank": 1536' '"sliding_window": 4096' '"attention_chunk_size": 8192'; do
  printf '%s, %s}' "$cfg" "$field" >"$TMP/attn.json"
  name=${field%%\":*}; name=${name#\"}
  err=$("$BIN" models --model-config "$TMP/attn.json" 2>&1 >/dev/null)
  [[ $? -eq 2 && "$err" == *"'$name'"* ]] || { echo "FAIL: $field not refused by name: $err"; fail=1; }
  expect_usage_error "$O" predict --model-config "$TMP/attn.json" --layout 1R-TP2 --concurrency 1 --out "$O"
done
printf '%s, "sliding_window": 4096, "use_sliding_window": false}' "$cfg" >"$TMP/unused_window.json"
"$BIN" predict --model-config "$TMP/unused_window.json" --layout 1R-TP2 --concurrency 1 >/dev/null ||
  { echo "FAIL: an unused sliding window was refused"; fail=1; }
finish
