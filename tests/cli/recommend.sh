#!/usr/bin/env bash
# `tpbench recommend`: bad input and a model that fits nowhere exit 2 with one stderr line and no
# file; --help shows examples; targets no layout meets are a result (exit 0) naming the binding
# target; and a Llama-3.1-70B recommendation on 8 H100s is checked against `tpbench predict` run
# separately on the same layouts: the winner's numbers are predict's, the next concurrency misses
# a target, and no other layout's best point beats it.
# Usage: recommend.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
J="$TMP/rec.json"
SMALL=(--model llama-3.1-8b --isl 1000 --osl 100 --max-concurrency 16 --prompts-per-user 2 --no-progress)

expect_usage_error "$J" recommend --gpus 0 --out "$J"
expect_usage_error "$J" recommend --out "$J"
expect_usage_error "$J" recommend --gpus 8 --tpot-ms 50 --min-tok-s-per-user 20 --out "$J"
expect_usage_error "$J" recommend --gpus 8 --ttft-ms -1 --out "$J"
expect_usage_error "$J" recommend --gpus 8 --ttft-ms nan --out "$J"
expect_usage_error "$J" recommend --gpus 8 --per-user bogus --out "$J"
expect_usage_error "$J" recommend --gpus 8 --model no-such-model --out "$J"
expect_usage_error "$J" recommend --gpus 8 --out "$TMP/missing-dir/rec.json"
expect_usage_error "$J" recommend --gpus 8 --out "$J" --plot "$J"
expect_usage_error "$J" recommend --gpus 8 --set bogus=1 --out "$J"
# A config.json: recommended like a preset; vllm serve gets its folder, or its _name_or_path.
mkdir -p "$TMP/my model"
cfg='{"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
      "num_key_value_heads": 8, "vocab_size": 128256'
printf '%s}' "$cfg" >"$TMP/my model/config.json"
out=$("$BIN" recommend --model-config "$TMP/my model/config.json" --gpus 2 "${SMALL[@]:2}" --ttft-ms 1000) ||
  { echo "FAIL: config.json run"; fail=1; }
grep -qF "vllm serve '$TMP/my model' --tensor-parallel-size" <<<"$out" || { echo "FAIL: config folder not served"; echo "$out"; fail=1; }
printf '%s, "_name_or_path": "org/my-8b"}' "$cfg" >"$TMP/my model/config.json"
"$BIN" recommend --model-config "$TMP/my model/config.json" --gpus 2 "${SMALL[@]:2}" | grep -q "vllm serve org/my-8b " ||
  { echo "FAIL: _name_or_path not served"; fail=1; }
# 141 GB of weights on one 80 GB GPU: impossible, and the reason is named.
err=$("$BIN" recommend --model llama-3.1-70b --gpus 1 --out "$J" 2>&1 >/dev/null)
rc=$?
if [[ $rc -ne 2 || -e $J || "$err" != *"fits no instance"*"TP1: KV room for 0 tokens"* ]]; then
  echo "FAIL: 70B on one GPU: rc=$rc: $err"
  fail=1
fi
# More GPUs per instance than the profile has collective tables for: refused by name, not priced
# with a smaller group's table.
out=$("$BIN" recommend --model llama-3.1-70b --gpus 16 --gpus-per-node 16 --aggregated-only --max-concurrency 2 \
      --prompts-per-user 1 --no-progress) || { echo "FAIL: 16 GPUs per node"; fail=1; }
grep -q "TP16 cannot serve: the profile has no collective table for 16 GPUs" <<<"$out" ||
  { echo "FAIL: TP16 not refused by name"; echo "$out"; fail=1; }

help=$("$BIN" recommend --help)
grep -q "^Examples:" <<<"$help" && grep -q "tpbench recommend --model llama-3.1-70b --gpus 8" <<<"$help" ||
  { echo "FAIL: --help has no examples"; fail=1; }

# A TPOT below any layout's at concurrency 1: exit 0, the binding target and the closest layout.
out=$("$BIN" recommend "${SMALL[@]}" --gpus 2 --tpot-ms 0.5 --out "$J") || { echo "FAIL: none-meets run"; fail=1; }
grep -q "no layout meets the targets" <<<"$out" && grep -q "The TPOT target binds: the closest layout, " <<<"$out" ||
  { echo "FAIL: none-meets output"; echo "$out"; fail=1; }
[[ -s $J ]] || { echo "FAIL: none-meets wrote no document"; fail=1; }

# Llama-3.1-70B on 8 H100s, ISL 10000 / OSL 1000, TTFT <= 3 s and TPOT <= 40 ms (3 prompts per user
# and concurrency up to 64 keep the run short).
FAST=(--prompts-per-user 3)
"$BIN" recommend --model llama-3.1-70b --gpus 8 --ttft-ms 3000 --tpot-ms 40 --max-concurrency 64 "${FAST[@]}" \
  --no-progress --out "$J" >"$TMP/rec.txt" || { echo "FAIL: 70B run"; fail=1; }
cat "$TMP/rec.txt"
grep -q "^recommended: " "$TMP/rec.txt" && grep -q "^  vllm serve meta-llama/Llama-3.1-70B-Instruct --tensor-parallel-size" "$TMP/rec.txt" ||
  { echo "FAIL: no recommendation or serving command"; fail=1; }
python3 - "$J" "$BIN" "$TMP" <<'PY' || fail=1
import json, subprocess, sys
doc_path, binary, tmp = sys.argv[1:4]
doc = json.load(open(doc_path))
rec = doc["recommendation"]
assert rec, "no recommendation"
layouts = {l["layout"]: l for l in doc["layouts"]}
assert set(layouts) == {"4R-TP2", "2R-TP4", "1R-TP8", "1P-TP2 3D-TP2", "2P-TP2 2D-TP2", "3P-TP2 1D-TP2",
                        "2P-TP2 1D-TP4", "1P-TP4 2D-TP2", "1P-TP4 1D-TP4"}, sorted(layouts)

def predict(layout, concs):
    out = "%s/pred.json" % tmp
    subprocess.run([binary, "predict", "--model", "llama-3.1-70b", "--layout", layout, "--concurrency",
                    ",".join(str(c) for c in concs), "--prompts-per-user", "3", "--out", out],
                   check=True, capture_output=True)
    return {p["concurrency"]: p for p in json.load(open(out))["points"]}

def close(a, b):
    assert abs(a - b) <= 1e-9 * max(abs(a), abs(b)), (a, b)

def misses(p):
    return p["ttft_s"] > 3.0 or p["tpot_s"] > 0.040

w = layouts[rec["layout"]]
c = rec["concurrency"]
nxt = w["first_missing_concurrency"]
pts = predict(rec["layout"], [c] + ([nxt] if nxt else []))
close(pts[c]["tokens_per_s_per_gpu"], rec["tokens_per_s_per_gpu"])
close(pts[c]["ttft_s"], rec["ttft_s"])
close(pts[c]["tpot_s"], rec["tpot_s"])
assert not misses(pts[c]), pts[c]
assert nxt == 0 or misses(pts[nxt]), ("the next concurrency meets the targets too", pts[nxt])
# Every other layout: predict at its best concurrency gives less, and one above it misses.
for name, lay in layouts.items():
    if name == rec["layout"] or not lay["best"]:
        continue
    b = lay["best"]["concurrency"]
    n = lay["first_missing_concurrency"]
    other = predict(name, [b] + ([n] if n else []))
    assert other[b]["output_tok_s"] <= rec["output_tok_s"], (name, other[b]["output_tok_s"])
    assert not misses(other[b]) and (n == 0 or misses(other[n])), name
ru = rec["runner_up"]
assert ru and ru["layout"] != rec["layout"] and ru["output_tok_s"] <= rec["output_tok_s"]
# Every layout here uses all 8 GPUs: per GPU given is per GPU used.
close(rec["tokens_per_s_per_gpu_given"], rec["tokens_per_s_per_gpu"])
print("70B recommendation matches predict: %s at C=%d, %.1f tok/s/GPU; runner-up %s" %
      (rec["layout"], c, rec["tokens_per_s_per_gpu"], ru["layout"]))
PY
finish
