#!/usr/bin/env bash
# Bad input to `tpbench sweep`: one line naming the problem, exit code 2, no output file.
. "$(dirname "$0")/lib.sh"
tmp="$TMP"
out="$tmp/out.json"
base=(sweep --budget 0.02 --out "$out")  # the default backend is cpu

expect_usage_error "$out" "${base[@]}" --model llama-9
expect_usage_error "$out" "${base[@]}" --model tiny --plan pipeline
expect_usage_error "$out" "${base[@]}" --model tiny --overlap sometimes
expect_usage_error "$out" "${base[@]}" --model tiny --backend tpu
expect_usage_error "$out" "${base[@]}" --model tiny --phase decoding
expect_usage_error "$out" "${base[@]}" --model tiny --tp 3
expect_usage_error "$out" "${base[@]}" --model tiny --batch 0
expect_usage_error "$out" "${base[@]}" --model tiny --batch -4
expect_usage_error "$out" "${base[@]}" --model tiny --batch four
expect_usage_error "$out" "${base[@]}" --model tiny --layers 9
expect_usage_error "$out" "${base[@]}" --model tiny --plan tp-sp --overlap split
expect_usage_error "$out" "${base[@]}" --model tiny --phase prefill --context 16 --chunk 32
expect_usage_error "$tmp/no/such/dir/x.json" sweep --backend cpu --model tiny --out "$tmp/no/such/dir/x.json"
expect_usage_error "$tmp/none" sweep --backend cpu --model tiny --out "$tmp"
expect_usage_error "$out" "${base[@]}" --model tiny --frobnicate

printf '{ "hidden_size": 64, ' > "$tmp/malformed.json"
expect_usage_error "$out" "${base[@]}" --model-config "$tmp/malformed.json"
printf '{"hidden_size": 64, "num_hidden_layers": 2}' > "$tmp/incomplete.json"
expect_usage_error "$out" "${base[@]}" --model-config "$tmp/incomplete.json"
expect_usage_error "$out" "${base[@]}" --model-config "$tmp/nope.json"
cat > "$tmp/odd_inter.json" <<'J'
{"hidden_size": 64, "intermediate_size": 100, "num_hidden_layers": 2, "num_attention_heads": 8,
 "num_key_value_heads": 8, "vocab_size": 512, "torch_dtype": "bfloat16"}
J
expect_usage_error "$out" "${base[@]}" --model-config "$tmp/odd_inter.json" --tp 8
cat > "$tmp/odd_vocab.json" <<'J'
{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 8,
 "num_key_value_heads": 8, "vocab_size": 1001, "torch_dtype": "bfloat16"}
J
expect_usage_error "$out" "${base[@]}" --model-config "$tmp/odd_vocab.json" --tp 2

# This machine may have no GPU: then --backend cuda must say so in one line and write nothing.
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  expect_usage_error "$out" "${base[@]}" --model tiny --backend cuda
fi

# A good config.json works (the control: the same files with valid numbers pass).
"$TPBENCH" "${base[@]}" --model-config "$tmp/odd_vocab.json" --tp 1 >/dev/null 2>&1 \
  && [ -s "$out" ] && echo "ok   [valid config.json runs]" || { echo "FAIL [valid config.json runs]"; fail=1; }
finish
