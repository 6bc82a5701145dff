#!/usr/bin/env python3
"""tok/s/GPU vs tok/s/user plot of a `tpbench recommend` document.

Every layout's searched curve faint, the frontier over all of them bold, the per-user target as
a vertical line (TTFT and TPOT targets are named in the title: a TPOT target is a per-user line
only when the per-user rate is 1/TPOT, where it is drawn too), the recommended point and the
runner-up marked. Writes a PNG.

  python3 scripts/plot_recommend.py --recommendation rec.json --out rec.png
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def per_user_key(doc):
    return "per_user_inv_tpot" if doc.get("per_user") == "inv_tpot" else "per_user_out_div_conc"


def curves(doc):
    """{layout: [(concurrency, tok/s/user, tok/s per GPU given, meets)]} of every runnable layout: per GPU
    of the `gpus` given, as recommend ranks layouts (a layout's own tok/s/GPU where it uses them all)."""
    key = per_user_key(doc)
    gpus = float(doc["gpus"])
    out = {}
    for lay in doc.get("layouts", []):
        pts = [(p["concurrency"], p[key], p["output_tok_s"] / gpus, p["meets_targets"]) for p in lay.get("curve", [])]
        if pts:
            out[lay["layout"]] = sorted(pts)
    return out


def target_lines(doc):
    """Vertical per-user lines: the floor, and the TPOT ceiling when the per-user rate is 1/TPOT."""
    t = doc.get("targets", {})
    lines = []
    if t.get("min_tokens_per_s_per_user"):
        lines.append((t["min_tokens_per_s_per_user"], "tok/s/user >= %g" % t["min_tokens_per_s_per_user"]))
    if t.get("tpot_s") and doc.get("per_user") == "inv_tpot":
        lines.append((1.0 / t["tpot_s"], "TPOT <= %g ms" % (t["tpot_s"] * 1e3)))
    return lines


def title(doc):
    t = doc.get("targets", {})
    parts = []
    if t.get("ttft_s"):
        parts.append("TTFT <= %g s" % t["ttft_s"])
    if t.get("tpot_s"):
        parts.append("TPOT <= %g ms" % (t["tpot_s"] * 1e3))
    if t.get("min_tokens_per_s_per_user"):
        parts.append("tok/s/user >= %g" % t["min_tokens_per_s_per_user"])
    w = doc.get("workload", {})
    model = doc.get("model", {}).get("name", "?")
    return "%s on %s GPUs (%s), ISL %s / OSL %s; targets: %s" % (
        model, doc.get("gpus"), doc.get("profile"), w.get("isl"), w.get("osl"), ", ".join(parts) or "none")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recommendation", required=True, help="tpbench recommend --out JSON")
    ap.add_argument("--out", required=True, help="PNG to write")
    a = ap.parse_args(argv)
    with open(a.recommendation) as f:
        doc = json.load(f)
    if not str(doc.get("schema", "")).startswith("tpbench.recommendation/"):
        raise SystemExit("plot_recommend.py: %s: not a recommendation document" % a.recommendation)
    fig, ax = plt.subplots(figsize=(10, 7))
    for i, (layout, pts) in enumerate(sorted(curves(doc).items())):
        ax.plot([p[1] for p in pts], [p[2] for p in pts], "-", marker=".", color="C%d" % (i % 10), alpha=0.25,
                linewidth=1, label=layout)
    front = sorted(doc.get("frontier", []), key=lambda p: p["tokens_per_s_per_user"])
    if front:
        ax.plot([p["tokens_per_s_per_user"] for p in front], [p["tokens_per_s_per_gpu_given"] for p in front], "-o",
                color="black", linewidth=2.5, markersize=4, label="frontier", zorder=4)
    for x, label in target_lines(doc):
        ax.axvline(x, color="red", linestyle="--", linewidth=1.2, label="target: " + label)
    rec = doc.get("recommendation")
    if rec:
        ax.scatter([rec["tokens_per_s_per_user"]], [rec["tokens_per_s_per_gpu_given"]], marker="*", s=320, color="gold",
                   edgecolors="black", zorder=5, label="recommended: %s @ C=%d" % (rec["layout"], rec["concurrency"]))
        ru = rec.get("runner_up")
        if ru:
            ax.scatter([ru["tokens_per_s_per_user"]], [ru["tokens_per_s_per_gpu_given"]], marker="D", s=80, color="silver",
                       edgecolors="black", zorder=5, label="runner-up: %s @ C=%d" % (ru["layout"], ru["concurrency"]))
    ax.set_xlabel("tok/s/user (%s)" % ("1/TPOT" if doc.get("per_user") == "inv_tpot" else "output tok/s / concurrency"))
    ax.set_ylabel("tok/s per GPU (output tok/s / %s GPUs)" % doc.get("gpus"))
    ax.set_title(title(doc), fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6, ncol=2, loc="upper right")
    fig.tight_layout()
    # Written beside the target and renamed over it: a reader never sees half a PNG.
    tmp = a.out + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
