#!/usr/bin/env bash
# Perf commands: bad input (unknown profile, malformed CSV/JSON, bad layout) exits 2 with one
# stderr line and writes no file; good runs write valid documents with the documented names.
# Usage: perf_errors.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
REF="$SRC/results/llmd/llmd_pd_sweep_exact_from_tables.csv"


printf 'config,concurrency,thpt_per_gpu\n1R-TP4,one,3\n' >"$TMP/bad.csv"
printf '{"schema": "tpbench.prediction/1", "points": [' >"$TMP/bad.json"
printf '{"schema": "tpbench.profile/1", "memory_bytes": 1e9}' >"$TMP/badprofile.json"
printf '{"schema": "tpbench.prediction/1", "points": []}' >"$TMP/empty.json"
printf '{"schema": 5, "points": [{}]}' >"$TMP/badschema.json"
printf 'config,concurrency,thpt_per_gpu\n1R-TP4,1.7,3\n' >"$TMP/fraction.csv"
printf 'config,concurrency,thpt_per_gpu\n1R-TP4,8,0\n' >"$TMP/zero.csv"
printf 'config,concurrency,thpt_per_gpu\n1R-TP4,8,\n' >"$TMP/blank.csv"
printf 'config,concurrency,num_gpus,thpt_per_gpu\n1R-TP4,8,0,3\n' >"$TMP/zero_gpus.csv"
printf 'config,concurrency,thpt_per_gpu\n,8,3\n' >"$TMP/no_config.csv"
printf 'config,concurrency,mean_tpot_ms,mean_ttft_ms\n1R-TP8,32,1e308,\n1R-TP8,64,1e300,\n' >"$TMP/huge_tpot.csv"
printf 'config,concurrency,mean_tpot_ms,mean_ttft_ms\n1R-TP8,1e20,10,\n' >"$TMP/huge_conc.csv"
printf 'config,concurrency,mean_tpot_ms,mean_ttft_ms\nbogus,8,,\n' >"$TMP/lat_bad_config.csv"
printf 'config,concurrency,mean_tpot_ms,mean_ttft_ms\n1R-TP8,8,30,\nTP8,8,31,\n' >"$TMP/lat_twice.csv"
printf 'config,concurrency,num_gpus,output_tok_s\n1R-TP4,8,1000000,3\n' >"$TMP/gpus_mismatch.csv"
printf 'config,concurrency,thpt_per_gpu,mean_tpot_ms\n1R-TP4,8,3,0\n' >"$TMP/tpot_zero.csv"
printf 'config,concurrency,thpt_per_gpu\n1R-TP4,8,3\n1R-TP4,8,4\n' >"$TMP/ref_twice.csv"
printf 'config,concurrency,thpt_per_gpu\n1R-TP4,8,1e308\n' >"$TMP/ref_huge.csv"
# A valid profile with one field broken at a time (zero efficiency, zero link, a name that is
# not a string, an impossible memory size).
"$BIN" profile show h100-sxm --json >"$TMP/good_profile.json"
for edit in 'd["attention_efficiency"]=0' 'd["kv_link_bandwidth"]=0' 'd["name"]=5' 'd["memory_bytes"]=1e30' \
            'd["peak_matmul_flops"]=0' 'd["per_step_overhead_s"]=100'; do
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $edit; json.dump(d, open(sys.argv[2], 'w'))" \
    "$TMP/good_profile.json" "$TMP/edited_profile.json"
  expect_usage_error "$TMP/pred.json" predict --profile "$TMP/edited_profile.json" --layout 1R-TP4 --concurrency 1 --out "$TMP/pred.json"
done
P="$TMP/pred.json"
expect_usage_error "$P" predict --profile no-such-gpu --layout 1R-TP4 --concurrency 1 --out "$P"
expect_usage_error "$P" predict --profile "$TMP/badprofile.json" --layout 1R-TP4 --concurrency 1 --out "$P"
expect_usage_error "$P" predict --layout 4X-TP4 --concurrency 1 --out "$P"
expect_usage_error "$P" predict --layout "2P-TP4" --concurrency 1 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP3 --concurrency 1 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --concurrency 0 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --set bogus=1 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --set step_overhead_tp8_s=-1 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --set step_overhead_tpx_s=0.01 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --set step_time_scale_tp4=0 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --set step_time_scale_tp4=1e9 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --set max_num_seqs=0.5 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --set hbm_efficiency=0 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --set collective_scale=-1 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --set step_overhead_s=-1 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --set memory_reserve_gib=-5 --out "$P"
expect_usage_error "$P" predict --layout "1R-TP4," --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --concurrency 1,8, --out "$P"
expect_usage_error "$P" predict --layout "1P-TP4 1D-TP4" --concurrency 1 --kv-link-gbps -3 --out "$P"
expect_usage_error "$P" predict --layout 1R-TP4 --set gpu_memory_utilization=2 --out "$P"
# An unknown parameter, or a value outside a parameter's bounds, is refused naming the parameter
# (exit 2), on --set and on fit --params.
for a in bogus_knob=1 hbm_efficiency=3 max_num_seqs=0.5 step_time_scale_tp4=0; do
  err=$("$BIN" predict --layout 1R-TP4 --concurrency 1 --set "$a" 2>&1 >/dev/null)
  rc=$?
  [[ $rc -eq 2 && "$err" == *"${a%%=*}"* ]] || { echo "FAIL: --set $a: rc=$rc, '$err' does not name ${a%%=*}"; fail=1; }
done
err=$("$BIN" fit --reference "$REF" --train 1R-TP4 --params hbm_efficiency,bogus_knob 2>&1 >/dev/null)
rc=$?
[[ $rc -eq 2 && "$err" == *"'bogus_knob'"* ]] || { echo "FAIL: fit --params bogus_knob: rc=$rc, '$err'"; fail=1; }
expect_usage_error "$P" predict --layout 1R-TP4 --out "$TMP/missing-dir/pred.json"
expect_usage_error "$TMP/x" profile show no-such-gpu
expect_usage_error "$TMP/x" profile show "$TMP/badprofile.json"
C="$TMP/cmp.json"
expect_usage_error "$C" compare --reference "$TMP/bad.csv" --predicted "$REF" --json "$C"
expect_usage_error "$C" compare --reference "$REF" --predicted "$TMP/bad.json" --json "$C"
expect_usage_error "$C" compare --reference "$REF" --predicted "$TMP/nonexistent.json" --json "$C"
expect_usage_error "$C" compare --reference "$REF" --predicted "$TMP/badschema.json" --json "$C"
expect_usage_error "$C" compare --reference "$TMP/fraction.csv" --predicted "$REF" --json "$C"
expect_usage_error "$C" compare --reference "$TMP/zero.csv" --predicted "$REF" --json "$C"
expect_usage_error "$C" compare --reference "$TMP/blank.csv" --predicted "$REF" --json "$C"
# A sweep measured with two overlaps, neither vLLM's: compare needs --sweep-overlap; a choice that
# was not measured, or a choice with no sweep among the inputs, is refused.
printf '{"schema": "tpbench.result/1", "points": [%s,%s]}' \
  '{"tp": 4, "batch": 8, "plan": "tp", "overlap": "streams", "step_time_s": {"median": 0.02}}' \
  '{"tp": 4, "batch": 8, "plan": "tp", "overlap": "split", "step_time_s": {"median": 0.03}}' >"$TMP/two_overlaps.json"
expect_usage_error "$C" compare --reference "$TMP/two_overlaps.json" --predicted "$REF" --json "$C"
expect_usage_error "$C" compare --reference "$TMP/two_overlaps.json" --predicted "$REF" --sweep-overlap none --json "$C"
expect_usage_error "$C" compare --reference "$REF" --predicted "$REF" --sweep-plan tp-sp --json "$C"
"$BIN" compare --reference "$REF" --predicted "$TMP/two_overlaps.json" --sweep-overlap split --json "$C" >"$TMP/cmp.txt" &&
  grep -q "plan tp, overlap split" "$TMP/cmp.txt" && grep -q '"model_selection": "plan tp, overlap split"' "$C" &&
  grep -q "note: a sweep point is steady decode" "$TMP/cmp.txt" ||
  { echo "FAIL: compare with --sweep-overlap"; cat "$TMP/cmp.txt"; fail=1; }
"$BIN" predict --model llama-3.1-8b --layout 1R-TP4 --concurrency 1,8 --out "$TMP/pred8b.json" >/dev/null &&
  "$BIN" predict --model llama-3.1-70b --layout 1R-TP4 --concurrency 1,8 --out "$TMP/pred70b.json" >/dev/null &&
  "$BIN" compare --reference "$TMP/pred70b.json" --predicted "$TMP/pred8b.json" |
  grep -q "different models (llama-3.1-70b, llama-3.1-8b)" ||
  { echo "FAIL: compare of two models says nothing"; fail=1; }
F="$TMP/fit.json"
expect_usage_error "$F" fit --reference "$TMP/pred8b.json" --train 1R-TP4 --json "$F"  # 8B points, 70B simulated
expect_usage_error "$F" fit --reference "$REF" --train 9R-TP4 --json "$F"
expect_usage_error "$F" fit --reference "$REF" --params a,b --json "$F"
expect_usage_error "$F" fit --reference "$REF" --params kv_on_demand --json "$F"
expect_usage_error "$F" fit --reference "$REF" --params max_num_batched_tokens --json "$F"
expect_usage_error "$F" fit --reference "$REF" --train 1R-TP4 --params step_overhead_tp8_s --json "$F"
expect_usage_error "$F" fit --reference "$REF" --train 1R-TP4 --params step_time_scale_tp8 --json "$F"
expect_usage_error "$F" fit --reference "$TMP/bad.csv" --json "$F"
E="$TMP/report.md"
expect_usage_error "$E" explain --reference "$TMP/bad.csv" --out "$E" --no-plot
expect_usage_error "$E" explain --reference "$REF" --profile nope --out "$E" --no-plot
expect_usage_error "$E" explain --reference "$REF" --latency "$TMP/bad.csv" --out "$E" --no-plot
expect_usage_error "$E" explain --reference "$REF" --latency "$TMP/huge_tpot.csv" --out "$E" --no-plot
expect_usage_error "$E" explain --reference "$REF" --latency "$TMP/huge_conc.csv" --out "$E" --no-plot
expect_usage_error "$E" explain --reference "$TMP/zero_gpus.csv" --out "$E" --no-plot
expect_usage_error "$E" explain --reference "$TMP/no_config.csv" --out "$E" --no-plot
expect_usage_error "$E" explain --reference "$REF" --latency "$TMP/lat_bad_config.csv" --out "$E" --no-plot
expect_usage_error "$E" explain --reference "$REF" --latency "$TMP/lat_twice.csv" --out "$E" --no-plot
for bad in gpus_mismatch tpot_zero ref_twice ref_huge; do
  expect_usage_error "$E" explain --reference "$TMP/$bad.csv" --out "$E" --no-plot
done
# A latency file whose TP8 stack is out of the model's range (TPOTs + 20 s): said, not dropped.
python3 -c "
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
w = csv.DictWriter(open(sys.argv[2], 'w'), fieldnames=rows[0].keys())
w.writeheader()
for r in rows:
    if 'TP8' in r['config'] and r['kind'] == 'aggregated' and r['mean_tpot_ms']:
        r['mean_tpot_ms'] = str(float(r['mean_tpot_ms']) + 20000)
    w.writerow(r)
" "$SRC/results/llmd/llmd_pd_sweep_latency_digitized.csv" "$TMP/lat_tp8_slow.csv"
if "$TPBENCH" explain --reference "$REF" --latency "$TMP/lat_tp8_slow.csv" --out "$E" --no-plot >/dev/null &&
   grep -q "Left out, their fitted stack being out of the model's range: TP8" "$E" && ! grep -qw "inf" "$E"; then
  echo "ok: an out-of-range stack is named"
else
  echo "FAIL: out-of-range TP8 stack not reported"; fail=1
fi

# Good runs.
"$BIN" predict --layout 1R-TP4,"1P-TP8 1D-TP8" --concurrency 1,8 --out "$P" >/dev/null || { echo "FAIL: predict"; fail=1; }
grep -q '"schema": "tpbench.prediction/1"' "$P" && grep -q '"per_user_out_div_conc"' "$P" ||
  { echo "FAIL: prediction document"; fail=1; }
"$BIN" compare --reference "$REF" --predicted "$P" --json "$C" >/dev/null || { echo "FAIL: compare"; fail=1; }
grep -q '"mape_tokens_per_s_per_gpu"' "$C" && grep -q '"mape_tokens_per_s_per_user"' "$C" ||
  { echo "FAIL: comparison document"; fail=1; }
"$BIN" profile show h100-sxm --json >"$TMP/h100.json" || { echo "FAIL: profile show --json"; fail=1; }
"$BIN" profile show "$TMP/h100.json" | grep -q "all_reduce" || { echo "FAIL: profile file round trip"; fail=1; }
"$BIN" explain --reference "$REF" --out "$E" --no-plot >/dev/null && grep -q "KV capacity" "$E" ||
  { echo "FAIL: explain"; fail=1; }
# A fit with one training point (a TPOT well above the speed of light, so that both parameters
# carry the gap) cannot split HBM efficiency from a per-step cost: it must say so
# and follow the ridge (five refits, both speed-of-light ends among them) in text and JSON.
printf 'config,concurrency,thpt_per_gpu\n1R-TP4,1,9\n1R-TP2,1,16\n1R-TP2,8,44\n' >"$TMP/one_point.csv"
"$BIN" fit --reference "$TMP/one_point.csv" --train 1R-TP4 --params hbm_efficiency,step_overhead_s --json "$F" \
  >"$TMP/fit.txt" || { echo "FAIL: fit on one point"; fail=1; }
grep -q "a RIDGE" "$TMP/fit.txt" && grep -q "along the ridge" "$TMP/fit.txt" ||
  { echo "FAIL: fit text has no ridge"; cat "$TMP/fit.txt"; fail=1; }
python3 - "$F" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))["ridge"]
assert sorted(r["pair"]) == ["hbm_efficiency", "step_overhead_s"], r["pair"]
pts = r["points"]
assert len(pts) == 5 and [p["position"] for p in pts] == [0, 0.25, 0.5, 0.75, 1], pts
ends = {(p["pinned"], p["pinned_value"]) for p in (pts[0], pts[-1])}
assert ends == {("hbm_efficiency", 1.0), ("step_overhead_s", 0.0)}, ends
assert all(p["on_ridge"] and p["heldout_pd_mape_tokens_per_s_per_gpu"] is None for p in pts), pts
print("fit ridge JSON checks passed")
PY
exit $fail
