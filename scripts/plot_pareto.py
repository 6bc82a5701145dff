#!/usr/bin/env python3
"""tok/s/GPU vs tok/s/user Pareto plot in the style of the llm-d one.

One curve per configuration, points labelled by concurrency; overlays the llm-d reference CSV
(circles, solid), a `tpbench predict` JSON (squares, dashed) and a `tpbench sweep` JSON
(triangles, dotted; emulated points hollow with an 'e' suffix). Writes a PNG.

  python3 scripts/plot_pareto.py --reference results/llmd/llmd_pd_sweep_exact_from_tables.csv \
      --predicted pred.json [--measured sweep.json] [--configs 1R-TP2,1R-TP4] --out pareto.png
"""
import argparse
import csv
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_reference(path, per_user):
    curves = {}
    skipped = 0
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        if per_user == "inv_tpot" and "thpt_per_user_inv_tpot" not in fields and "mean_tpot_ms" not in fields:
            raise SystemExit("plot_pareto.py: %s has no 1/TPOT (thpt_per_user_inv_tpot or mean_tpot_ms column); "
                             "use --per-user out_div_conc" % path)
        for row in reader:
            conc = int(float(row["concurrency"]))
            gpu = float(row["thpt_per_gpu"]) if row.get("thpt_per_gpu") else float(row["output_tok_s"]) / float(row["num_gpus"])
            if per_user == "inv_tpot":
                # Never fall back to the other definition: one curve must not mix 1/TPOT with
                # output/concurrency (they differ by the queueing share of each request's time).
                if row.get("thpt_per_user_inv_tpot"):
                    user = float(row["thpt_per_user_inv_tpot"])
                elif row.get("mean_tpot_ms"):
                    user = 1000.0 / float(row["mean_tpot_ms"])
                else:
                    skipped += 1
                    continue
            elif row.get("thpt_per_user_outdiv_conc"):
                user = float(row["thpt_per_user_outdiv_conc"])
            else:
                user = float(row["output_tok_s"]) / conc
            curves.setdefault(row["config"].strip(), []).append((conc, user, gpu, False))
    if skipped:
        print("plot_pareto.py: %s: %d rows without 1/TPOT left out" % (path, skipped), file=sys.stderr)
    return curves


def read_points(path, per_user):
    with open(path) as f:
        doc = json.load(f)
    schema = doc.get("schema", "")
    if not (schema.startswith("tpbench.prediction/") or schema.startswith("tpbench.result/")):
        raise SystemExit("plot_pareto.py: %s: unknown schema %r" % (path, schema))
    curves = {}
    # A sweep measured at several plans, overlaps or contexts gets one curve per TP and each of
    # those that varies: points measured differently are never joined into one curve.
    decode = [p for p in doc.get("points", []) if isinstance(p, dict) and p.get("phase", "decode") == "decode"]
    axes = [(name, default, fmt) for name, default, fmt in
            (("plan", "tp", " %s"), ("overlap", "none", " %s"), ("context", None, " ctx %s"))
            if len({p.get(name, default) for p in decode} - {None}) > 1]
    for p in doc.get("points", []):
        if schema.startswith("tpbench.prediction/"):
            if not p.get("feasible", True):
                continue
            key = "per_user_inv_tpot" if per_user == "inv_tpot" else "per_user_out_div_conc"
            curves.setdefault(p["layout"], []).append(
                (int(p["concurrency"]), float(p[key]), float(p["tokens_per_s_per_gpu"]), False))
        elif schema.startswith("tpbench.result/"):
            if p.get("phase", "decode") != "decode":
                continue
            st = p.get("step_time_s")
            tpot = st.get("median") if isinstance(st, dict) else st
            if not tpot:
                continue
            tp, batch = int(p["tp"]), int(p["batch"])
            key = "1R-TP%d" % tp + "".join(fmt % p.get(name, default) for name, default, fmt in axes
                                            if p.get(name, default) is not None)
            curves.setdefault(key, []).append((batch, 1.0 / tpot, batch / (tpot * tp), bool(p.get("emulated"))))
    return curves


def config_of(curve):
    """A sweep's curve is named "1R-TPn" plus its plan/overlap/context: --configs and the colour go
    by the configuration, its first word, so it sits beside the reference's curve of that name."""
    return curve.split(" ")[0] if curve.startswith("1R-TP") else curve


def draw(ax, curves, style, label, colors, only):
    for cfg in sorted(curves):
        config = config_of(cfg)
        if only and config not in only:
            continue
        pts = sorted(curves[cfg])
        color = colors.setdefault(config, "C%d" % (len(colors) % 10))
        xs = [p[1] for p in pts]
        ys = [p[2] for p in pts]
        ax.plot(xs, ys, style["line"], color=color, alpha=0.8, label="%s (%s)" % (cfg, label))
        for conc, x, y, emulated in pts:
            ax.scatter([x], [y], marker=style["marker"], s=36, color=color,
                       facecolors="none" if emulated else color, zorder=3)
            ax.annotate(str(conc) + ("e" if emulated else ""), (x, y), textcoords="offset points", xytext=(4, 3),
                        fontsize=7, color=color)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", help="llm-d CSV")
    ap.add_argument("--predicted", help="tpbench predict JSON")
    ap.add_argument("--measured", help="tpbench sweep JSON")
    ap.add_argument("--configs", help="comma list of configurations to draw (default: all)")
    ap.add_argument("--per-user", choices=["out_div_conc", "inv_tpot"], default="out_div_conc")
    ap.add_argument("--title", default="Llama-3.1-70B, ISL 10000 / OSL 1000")
    ap.add_argument("--out", required=True, help="PNG to write")
    a = ap.parse_args(argv)
    if not (a.reference or a.predicted or a.measured):
        ap.error("give at least one of --reference, --predicted, --measured")
    only = set(c.strip() for c in a.configs.split(",")) if a.configs else None
    fig, ax = plt.subplots(figsize=(10, 7))
    colors = {}
    if a.reference:
        draw(ax, read_reference(a.reference, a.per_user), {"line": "-", "marker": "o"}, "llm-d", colors, only)
    if a.predicted:
        draw(ax, read_points(a.predicted, a.per_user), {"line": "--", "marker": "s"}, "predicted", colors, only)
    if a.measured:
        draw(ax, read_points(a.measured, a.per_user), {"line": ":", "marker": "^"}, "measured", colors, only)
    ax.set_xlabel("tok/s/user (%s)" % ("1/TPOT" if a.per_user == "inv_tpot" else "output tok/s / concurrency"))
    ax.set_ylabel("tok/s/GPU")
    ax.set_title(a.title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6, ncol=2, loc="upper right")
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
