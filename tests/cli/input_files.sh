#!/usr/bin/env bash
# Input files and numbers at their limits: each is refused with one line and exit 2 (never a
# crash, a hang on an endless file, or a value silently clamped), and no output is written.
# Usage: input_files.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
REF="$SRC/results/llmd/llmd_pd_sweep_exact_from_tables.csv"
P="$TMP/pred.json"
run() { expect_usage_error "$P" "$@" --out "$P"; }

# JSON numbers no double holds, and profile values too small to compute with.
"$BIN" profile show h100-sxm --json >"$TMP/good_profile.json"
sed 's/"memory_bytes": [0-9.e+]*/"memory_bytes": 1e400/' "$TMP/good_profile.json" >"$TMP/big.json"
grep -q '1e400' "$TMP/big.json" || { echo "FAIL: could not make the 1e400 profile"; fail=1; }
run predict --profile "$TMP/big.json" --layout 1R-TP4 --concurrency 1
for edit in 'd["hbm_bandwidth"]=1e-320' 'd["kv_link_bandwidth"]=1e-300' 'd["attention_efficiency"]=1e-300'; do
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $edit; json.dump(d, open(sys.argv[2], 'w'))" \
    "$TMP/good_profile.json" "$TMP/tiny.json"
  run predict --profile "$TMP/tiny.json" --layout "1P-TP2 1D-TP2" --concurrency 1
done

# Model configs with wrong types, a directory, an endless device.
cfg='{"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 8,
      "num_key_value_heads": 4, "vocab_size": 1024'
printf '%s, "_name_or_path": 5}' "$cfg" >"$TMP/name_num.json"
printf '%s, "tie_word_embeddings": "yes"}' "$cfg" >"$TMP/tie_str.json"
printf '%s, "_name_or_path": "a\\nb"}' "$cfg" >"$TMP/name_nl.json"
printf '%s}' "$cfg" >"$TMP/ok.json"
"$BIN" predict --model-config "$TMP/ok.json" --layout 1R-TP2 --concurrency 1 >/dev/null ||
  { echo "FAIL: the valid config was refused"; fail=1; }
for c in "$TMP/name_num.json" "$TMP/tie_str.json" "$TMP/name_nl.json" "$TMP" /dev/zero; do
  run predict --model-config "$c" --layout 1R-TP2 --concurrency 1
done
expect_usage_error "$TMP/c.json" compare --reference /dev/zero --predicted "$TMP/ok.json" --json "$TMP/c.json"
run predict --profile /dev/zero --layout 1R-TP4 --concurrency 1

# Numbers: beyond the simulator's limits, clamped by a parser, or too small to print.
run predict --layout 1R-TP4 --concurrency 1000000
run predict --layout 1R-TP4 --concurrency 1 --prompts-per-user 100000000
run predict --layout 1R-TP4 --concurrency 100000 --prompts-per-user 100
run predict --layout 1R-TP4 --concurrency 1 --isl 99999999999999999999
run predict --layout 1R-TP4 --concurrency 1 --isl 0
run predict --layout 1R-TP4 --concurrency 1 --isl 0x10
run predict --layout "1P-TP4 1D-TP4" --concurrency 1 --kv-link-gbps 0
run predict --layout 1R-TP4 --concurrency 1 --set hbm_efficiency=1e-300

# CSV: hexadecimal and doubled columns are refused; a byte-order mark is not an error.
printf 'config,concurrency,thpt_per_gpu\n1R-TP4,0x10,3\n' >"$TMP/hex.csv"
printf 'config,concurrency,thpt_per_gpu,concurrency\n1R-TP4,8,3,16\n' >"$TMP/twice.csv"
"$BIN" predict --layout 1R-TP4 --concurrency 8 --out "$TMP/p8.json" >/dev/null
for f in "$TMP/hex.csv" "$TMP/twice.csv"; do
  expect_usage_error "$TMP/c.json" compare --reference "$f" --predicted "$TMP/p8.json" --json "$TMP/c.json"
done
printf '\xEF\xBB\xBFconfig,concurrency,thpt_per_gpu\n1R-TP4,8,60\n' >"$TMP/bom.csv"
if "$BIN" compare --reference "$TMP/bom.csv" --predicted "$TMP/p8.json" >/dev/null 2>&1; then
  echo "ok: a CSV with a byte-order mark is read"
else
  echo "FAIL: a CSV with a byte-order mark was refused"
  fail=1
fi
# Points files: a throughput that cannot be, a point given twice, a per-user rate not there.
python3 - "$TMP/p8.json" "$TMP/neg.json" "$TMP/dup.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
neg = json.loads(json.dumps(d)); neg["points"][0]["tokens_per_s_per_gpu"] = -5
json.dump(neg, open(sys.argv[2], "w"))
dup = json.loads(json.dumps(d)); dup["points"].append(dup["points"][0])
json.dump(dup, open(sys.argv[3], "w"))
PY
for f in "$TMP/neg.json" "$TMP/dup.json"; do
  expect_usage_error "$TMP/c.json" compare --reference "$REF" --predicted "$f" --json "$TMP/c.json"
  expect_usage_error "$TMP/t.json" toy --curves "$f" --json "$TMP/t.json"
done
expect_usage_error "$TMP/c.json" compare --reference "$REF" --predicted "$TMP/p8.json" --per-user inv_tpot --json "$TMP/c.json"
# Nothing requested fits: an error, not a file of "not runnable" rows.
run predict --layout 1R-TP2,1R-TP4 --concurrency 1 --isl 1000000
# Real-valued options: nan, inf and hexadecimal are not numbers.
expect_usage_error "$TMP/s.json" sweep --backend cpu --model tiny --timeout nan --out "$TMP/s.json"
expect_usage_error "$TMP/s.json" sweep --backend cpu --model tiny --budget inf --out "$TMP/s.json"
expect_usage_error "$TMP/t.json" toy --curves "$REF" --tolerance 0x1 --json "$TMP/t.json"
# Pipes are inputs too (process substitution); padded cells and unnamed trailing columns are read.
"$BIN" predict --profile <("$BIN" profile show h100-sxm --json) --layout 1R-TP4 --concurrency 8 >/dev/null ||
  { echo "FAIL: a profile from a pipe was refused"; fail=1; }
printf 'config,concurrency,thpt_per_gpu,,\n1R-TP4, 8, 60,,\n' >"$TMP/padded.csv"
"$BIN" compare --reference "$TMP/padded.csv" --predicted "$TMP/p8.json" >/dev/null ||
  { echo "FAIL: a CSV with padded cells and trailing commas was refused"; fail=1; }
# A count that is not a whole number in range is an error, not a conversion.
python3 - "$TMP/p8.json" "$TMP/bigc.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["points"][0]["concurrency"] = 1e12
json.dump(d, open(sys.argv[2], "w"))
PY
expect_usage_error "$TMP/c.json" compare --reference "$REF" --predicted "$TMP/bigc.json" --json "$TMP/c.json"

# A reference CSV from a pipe or under another extension is recognised by its content; a padded
# header is read.
"$BIN" compare --reference <(cat "$REF") --predicted "$TMP/p8.json" >/dev/null ||
  { echo "FAIL: a reference CSV from a pipe was refused"; fail=1; }
printf 'config , concurrency , thpt_per_gpu\n1R-TP4,8,60\n' >"$TMP/padded_header.txt"
"$BIN" compare --reference "$TMP/padded_header.txt" --predicted "$TMP/p8.json" >/dev/null ||
  { echo "FAIL: a CSV with a padded header and a .txt name was refused"; fail=1; }
# Sizes past what can be computed or run (fuzzing found crashes and hangs here).
expect_usage_error "$TMP/s.json" sweep --backend cpu --model tiny --batch 288230376151711744 --out "$TMP/s.json"
expect_usage_error "$TMP/s.json" sweep --backend cpu --model tiny --context 288230376151711744 --out "$TMP/s.json"
printf '{"hidden_size": 2147483648, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": 1024}' >"$TMP/huge_cfg.json"
run predict --model-config "$TMP/huge_cfg.json" --layout 1R-TP2 --concurrency 1
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['collectives']['all_reduce']['4'][0][1]=1e308; json.dump(d, open(sys.argv[2], 'w'))" \
  "$TMP/good_profile.json" "$TMP/slow_coll.json"
run predict --profile "$TMP/slow_coll.json" --layout 1R-TP4 --concurrency 1
run predict --layout 1R-TP4 --concurrency 256 --set max_num_batched_tokens=1
# Nothing to fit or explain when no configuration fits in memory.
expect_usage_error "$TMP/f.json" fit --reference "$REF" --train 1R-TP4 --isl 1000000 --params hbm_efficiency --max-evals 20 --json "$TMP/f.json"
expect_usage_error "$TMP/e.md" explain --reference "$REF" --osl 10000000 --no-plot --out "$TMP/e.md"

# Messages that name the problem: an unknown command, a negative chunk.
expect_usage_error "$TMP/none" bogus
expect_usage_error "$TMP/s.json" sweep --backend cpu --model tiny --phase prefill --chunk -1 --out "$TMP/s.json"
err=$("$BIN" bogus 2>&1)
[[ "$err" == *"unknown command 'bogus'"* ]] || { echo "FAIL: unknown command not named: $err"; fail=1; }
finish
