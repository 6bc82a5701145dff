#!/usr/bin/env bash
# `tpbench profile op`: one op priced on the built-in h100-sxm profile, checked against numbers
# derived by hand from the profile's sourced inputs (HBM 0.9 x 3.35 TB/s = 3.015 TB/s, BF16
# matmul 0.7 x 989.4 TFLOP/s, 2.2 us per kernel, the NVLink all_reduce table), and bad input
# refused with one line and exit 2.
# Usage: profile_op.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"

# GEMM m=1 n=1280 k=8192: 20,971,520 weight bytes / 3.015e12 = 6.956 us + 2.2 us = 9.156 us,
# memory bound (21 MFLOP at 25 % of 692.58 TFLOP/s is 0.121 us).
out=$("$BIN" profile op --gemm 1,1280,8192 --tp 8 --json) || { echo "FAIL: gemm"; fail=1; }
python3 - "$out" <<'PY' || fail=1
import json, sys
j = json.loads(sys.argv[1])
assert j["bound"] == "memory", j
assert abs(j["seconds"] - (20971520 / 3.015e12 + 2.2e-6)) < 1e-12, j["seconds"]
assert abs(j["compute_s"] - 2 * 1280 * 8192 / (0.25 * 0.7 * 989.4e12)) < 1e-12, j["compute_s"]
print("gemm ok")
PY
# m=8192, n=7168, k=8192: 9.62e11 FLOP at 692.58 TFLOP/s = 1.389 ms, compute bound.
out=$("$BIN" profile op --gemm 8192,7168,8192 --json) || { echo "FAIL: big gemm"; fail=1; }
python3 - "$out" <<'PY' || fail=1
import json, sys
j = json.loads(sys.argv[1])
assert j["bound"] == "compute", j
assert abs(j["seconds"] - (2 * 8192 * 7168 * 8192 / (0.7 * 989.4e12) + 2.2e-6)) < 1e-9, j["seconds"]
print("compute-bound gemm ok")
PY
# all_reduce of 16 KiB on 4 ranks: the table's 16 KiB point, 11.5 us, latency bound.
"$BIN" profile op --collective all_reduce --bytes 16K --ranks 4 | tee "$TMP/ar.txt"
grep -q "predicted 11.500 us, bound: latency" "$TMP/ar.txt" || { echo "FAIL: all_reduce"; fail=1; }
# Decode attention, 32 sequences at context 11000, 8 query / 1 KV heads of 128: K/V rows of
# 2 x 128 x 2 B = 512 B, (32 x 11000 read + 32 written) x 512 + 2 x 32 x 8 x 128 x 2 B =
# 180,371,456 B / 3.015e12 = 59.825 us + 2.2 us.
"$BIN" profile op --attention decode --batch 32 --context 11000 --heads 8,1,128 | tee "$TMP/att.txt"
grep -q "predicted 62.025 us, bound: memory" "$TMP/att.txt" || { echo "FAIL: decode attention"; fail=1; }

expect_usage_error "$TMP/none" profile op
expect_usage_error "$TMP/none" profile op --gemm 1,2
expect_usage_error "$TMP/none" profile op --gemm 1,0,3
expect_usage_error "$TMP/none" profile op --gemm 1,2,3 --collective all_reduce --bytes 8 --ranks 2
expect_usage_error "$TMP/none" profile op --collective all_to_everyone --bytes 8 --ranks 2
expect_usage_error "$TMP/none" profile op --collective all_reduce --ranks 2
expect_usage_error "$TMP/none" profile op --attention sideways --context 10
# 1000 bytes do not split into 3 equal parts of 2-byte elements; an odd byte count is no BF16 buffer.
expect_usage_error "$TMP/none" profile op --collective all_gather --bytes 1000 --ranks 3
expect_usage_error "$TMP/none" profile op --collective reduce_scatter --bytes 1000 --ranks 3
expect_usage_error "$TMP/none" profile op --collective all_reduce --bytes 7 --ranks 2
expect_usage_error "$TMP/none" profile op --attention prefill --context 10 --chunk 11
expect_usage_error "$TMP/none" profile op --attention decode --context 10 --heads 8,3,128
expect_usage_error "$TMP/none" profile op --gemm 1,2,3 --profile "$TMP/no-such-profile.json"
finish
