#!/usr/bin/env bash
# scripts/dgx_sweep.sh for real, without a GPU: a copy of scripts/ runs with stand-in `cmake`
# (records its arguments; --build installs a stand-in tpbench) and no ninja on PATH. The stand-in
# sweep writes a point per (plan, overlap, TP, batch), "ok" unless its TP is in FAKE_NOT_OK_TP
# (then not_runnable with a reason). Checks: make is the generator without ninja; cuDNN is
# configured AUTO; a layout without an ok point is a failed summary line naming it while the
# later steps still run; a clean run passes; a sweep that dies without output is reported.
# Usage: dgx_sweep_fake.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }

# A PATH with only what the script needs (ninja left out on purpose).
BIN_DIR=$TMP/bin
mkdir -p "$BIN_DIR"
PY=$(python3 -c 'import sys; print(sys.executable)')
ln -s "$PY" "$BIN_DIR/python3"
for t in bash env timeout mkdir cat date dirname tr head tail find ls ln basename rm sed grep printf tee nproc \
         sleep cp chmod sort wc cut; do
  p=$(command -v "$t") && ln -sf "$p" "$BIN_DIR/$t"
done
cat >"$BIN_DIR/cmake" <<'SH'
#!/usr/bin/env bash
echo "$*" >>"$FAKE_LOG"
if [ "$1" = --build ]; then
  mkdir -p "$2" && cp "$FAKE_TPBENCH" "$2/tpbench" && chmod +x "$2/tpbench"
fi
SH
chmod +x "$BIN_DIR/cmake"
# The stand-in tpbench: writes what each command's --out/--json names.
cat >"$TMP/tpbench" <<'SH'
#!/usr/bin/env bash
exec python3 - "$@" <<'PY'
import json, os, sys
args = sys.argv[1:]
cmd = args[0]
def opt(name, default=""):
    return args[args.index(name) + 1] if name in args else default
out = opt("--out") or opt("--json")
if cmd == "sweep":
    if os.environ.get("FAKE_DIE") and os.environ["FAKE_DIE"] in opt("--out"):
        sys.exit(1)  # died before writing anything
    bad = os.environ.get("FAKE_NOT_OK_TP", "").split(",")
    pts = []
    for plan in opt("--plan").split(","):
        for ov in opt("--overlap").split(","):
            for tp in opt("--tp").split(","):
                for b in opt("--batch").split(","):
                    ok = tp not in bad
                    pts.append({"plan": plan, "overlap": ov, "tp": int(tp), "batch": int(b),
                                "status": "ok" if ok else "not_runnable",
                                "reason": "" if ok else "needs 81 GiB, 79 GiB free"})
    json.dump({"points": pts}, open(out, "w"))
elif out:
    open(out, "w").write("{}\n")
PY
SH
chmod +x "$TMP/tpbench"
# The repository's scripts, with a plot that needs no matplotlib.
REPO=$TMP/repo
mkdir -p "$REPO"
cp -r "$SRC/scripts" "$REPO/scripts"
printf 'import sys\nopen(sys.argv[sys.argv.index("--out") + 1], "w").write("png")\n' >"$REPO/scripts/plot_pareto.py"

run() {  # OUTDIR, then VAR=value settings: runs the script, prints its output; returns its status
  local out=$1
  shift
  rm -f "$TMP/cmake.log"
  env -i PATH="$BIN_DIR" HOME="$TMP" FAKE_LOG="$TMP/cmake.log" FAKE_TPBENCH="$TMP/tpbench" "$@" \
    bash "$REPO/scripts/dgx_sweep.sh" "$out" 2>&1
}

out=$(run "$TMP/o1" FAKE_NOT_OK_TP=8)
rc=$?
echo "$out" | tail -30
[ "$rc" -ne 0 ] && echo "ok: a layout without an ok point fails the run" || { echo "FAIL: exit 0 with TP=8 not runnable"; fail=1; }
grep -q -- '-G Unix Makefiles' "$TMP/cmake.log" && echo "ok: make without ninja" || { echo "FAIL: generator not make"; fail=1; }
grep -q -- '-DTPBENCH_CUDNN=AUTO' "$TMP/cmake.log" && echo "ok: cuDNN AUTO" || { echo "FAIL: no -DTPBENCH_CUDNN"; fail=1; }
grep -qE '^sweep decode points +FAIL +6 layout\(s\) without an ok point: tp/none TP=8 \(not_runnable: needs 81 GiB' <<<"$out" &&
  echo "ok: the layouts without an ok point are named" || { echo "FAIL: no layout line"; fail=1; }
grep -qE '^sweep decode 8B points +FAIL +1 layout' <<<"$out" && echo "ok: each sweep is checked" || { echo "FAIL: 8B not checked"; fail=1; }
grep -qE '^explain +PASS' <<<"$out" && echo "ok: post-processing still ran" || { echo "FAIL: explain did not run"; fail=1; }
grep -qE '^4 step\(s\) failed' <<<"$out" && echo "ok: the summary counts them" || { echo "FAIL: wrong count"; fail=1; }

out=$(run "$TMP/o2")
rc=$?
[ "$rc" -eq 0 ] && grep -q '^all steps passed' <<<"$out" && echo "ok: a clean run passes" ||
  { echo "$out" | tail -25; echo "FAIL: a clean run did not pass ($rc)"; fail=1; }
grep -qE '^sweep prefill points +PASS +9 of 9 points ok' <<<"$out" && echo "ok: PASS line counts points" ||
  { echo "FAIL: no prefill PASS line"; fail=1; }

out=$(run "$TMP/o3" FAKE_DIE=sweep_prefill)
grep -qE '^sweep prefill +FAIL +exit 1' <<<"$out" && grep -qE '^sweep prefill points +FAIL +.*unreadable' <<<"$out" &&
  grep -qE '^predict --measured +FAIL +skipped: .*sweep_prefill.json missing' <<<"$out" &&
  echo "ok: a sweep that died is reported and what needs it is skipped" || { echo "$out" | tail -25; echo "FAIL: died sweep"; fail=1; }
finish
