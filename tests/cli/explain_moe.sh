#!/usr/bin/env bash
# `tpbench explain` on a mixture-of-experts model: Mixtral-8x7B's config.json against llm-d's
# reference runs every section that applies (the weight-gather section says in one line why it
# does not), and a reference whose configurations are expert-parallel layouts is simulated as such.
# Usage: explain_moe.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
CFG="$SRC/tests/fixtures/mixtral_8x7b_config.json"
REF="$SRC/results/llmd/llmd_pd_sweep_exact_from_tables.csv"

"$BIN" explain --model-config "$CFG" --reference "$REF" --no-plot --out "$TMP/x.md" >/dev/null ||
  { echo "FAIL: explain on Mixtral-8x7B"; fail=1; }
for h in "## 1. Why the curves" "## 2. Why TP4 beats TP8" "## 3. What sets the absolute throughput"; do
  grep -q "^$h" "$TMP/x.md" && echo "ok: $h" || { echo "FAIL: no section '$h'"; fail=1; }
done
# One line instead of the weight-gather section: that plan has no mixture-of-experts form.
grep -A2 "^## Weight-gather" "$TMP/x.md" | grep -q "^Not applicable to .*mixture-of-experts" &&
  echo "ok: weight-gather section says why it does not apply" || { echo "FAIL: weight-gather section"; fail=1; }
if grep -qiw 'nan' "$TMP/x.md"; then echo "FAIL: explain printed nan"; fail=1; else echo "ok: no nan"; fi
# Weights per GPU at TP2, by hand: Mixtral's 46,702,792,704 parameters (32 layers of attention
# 41,943,040 + router 32,768 + norms 8,192 + 8 experts of 176,160,768; embedding and LM head
# 2 x 32000 x 4096; final norm 4096) x 2 bytes / 2 GPUs = 46.7 GB: every expert is held.
grep -q "^| 2 | 46.7 |" "$TMP/x.md" && echo "ok: TP2 holds all experts' weights" ||
  { echo "FAIL: TP2 weights/GPU"; grep "^| 2 |" "$TMP/x.md" | head -2; fail=1; }

# A reference naming expert-parallel layouts (llm-d's TP4 and TP8 rows renamed TP4EP4, TP8EP8).
awk -F, 'NR == 1 || $1 == "1R-TP4" || $1 == "1R-TP8" || $1 == "1R-TP2"' "$REF" >"$TMP/ref.csv"
awk -F, -v OFS=, 'NR > 1 && ($1 == "1R-TP4" || $1 == "1R-TP8") { $1 = $1 "EP" $4; print }' "$REF" >>"$TMP/ref.csv"
"$BIN" explain --model-config "$CFG" --reference "$TMP/ref.csv" --no-plot --out "$TMP/ep.md" >/dev/null ||
  { echo "FAIL: explain with EP layouts"; fail=1; }
for l in 1R-TP4EP4 1R-TP8EP8; do
  grep -q "^| $l | 64 | [0-9]" "$TMP/ep.md" && echo "ok: $l simulated" || { echo "FAIL: no $l row"; fail=1; }
done
finish
