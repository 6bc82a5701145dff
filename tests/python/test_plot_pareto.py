"""Renders scripts/plot_pareto.py from small fixtures (reference CSV, prediction and sweep JSON)."""
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = pathlib.Path(os.environ.get("TPBENCH_SOURCE_DIR", HERE.parent.parent))
SCRIPT = SOURCE / "scripts" / "plot_pareto.py"
FIX = HERE / "fixtures"


def run(args):
    return subprocess.run([sys.executable, str(SCRIPT)] + args, capture_output=True, text=True)


def test_renders_all_three_overlays(tmp_path):
    out = tmp_path / "pareto.png"
    r = run(["--reference", str(FIX / "pareto_reference.csv"), "--predicted", str(FIX / "pareto_prediction.json"),
             "--measured", str(FIX / "pareto_sweep.json"), "--out", str(out)])
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10000


def test_parses_points_as_documented():
    sys.path.insert(0, str(SCRIPT.parent))
    import plot_pareto  # noqa: E402

    sweep = plot_pareto.read_points(str(FIX / "pareto_sweep.json"), "inv_tpot")
    # batch 8 at 20 ms on TP4: 8 / (0.02 * 4) = 100 tok/s/GPU, 50 tok/s/user; batch 1 is emulated.
    pts = sorted(sweep["1R-TP4"])
    assert pts[1][0] == 8 and abs(pts[1][1] - 50.0) < 1e-9 and abs(pts[1][2] - 100.0) < 1e-9
    assert pts[0][3] is True and pts[1][3] is False
    pred = plot_pareto.read_points(str(FIX / "pareto_prediction.json"), "out_div_conc")
    assert "1R-TP2" not in pred  # infeasible points are not drawn
    ref = plot_pareto.read_reference(str(FIX / "pareto_reference.csv"), "out_div_conc")
    assert sorted(ref["1R-TP2"])[1][1] == 11.1


def test_unknown_schema_fails(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other/1", "points": []}')
    r = run(["--predicted", str(bad), "--out", str(tmp_path / "x.png")])
    assert r.returncode != 0
    assert not (tmp_path / "x.png").exists()


def test_one_per_user_definition_per_curve_and_one_curve_per_sweep_context(tmp_path):
    sys.path.insert(0, str(SCRIPT.parent))
    import plot_pareto  # noqa: E402

    ref = tmp_path / "ref.csv"
    ref.write_text("config,concurrency,thpt_per_gpu,thpt_per_user_outdiv_conc,thpt_per_user_inv_tpot\n"
                   "1R-TP4,1,12,48,50\n1R-TP4,8,60,30,\n")
    inv = plot_pareto.read_reference(str(ref), "inv_tpot")
    assert inv["1R-TP4"] == [(1, 50.0, 12.0, False)]  # the row without 1/TPOT is left out, not mixed in
    odc = plot_pareto.read_reference(str(ref), "out_div_conc")
    assert sorted(p[1] for p in odc["1R-TP4"]) == [30.0, 48.0]
    sweep = tmp_path / "sweep.json"
    sweep.write_text('{"schema": "tpbench.result/1", "points": ['
                     '{"tp": 4, "batch": 8, "context": 128, "step_time_s": {"median": 0.02}},'
                     '{"tp": 4, "batch": 8, "context": 11000, "step_time_s": {"median": 0.05}}]}')
    curves = plot_pareto.read_points(str(sweep), "inv_tpot")
    assert sorted(curves) == ["1R-TP4 ctx 11000", "1R-TP4 ctx 128"]
    # Plans and overlaps likewise: one curve each, never one curve zig-zagging between them.
    sweep.write_text('{"schema": "tpbench.result/1", "points": ['
                     '{"tp": 4, "batch": 8, "plan": "tp", "overlap": "none", "step_time_s": {"median": 0.02}},'
                     '{"tp": 4, "batch": 8, "plan": "tp", "overlap": "split", "step_time_s": {"median": 0.03}},'
                     '{"tp": 4, "batch": 8, "plan": "weight-gather", "overlap": "none", "step_time_s": 0.05}]}')
    curves = plot_pareto.read_points(str(sweep), "inv_tpot")
    assert sorted(curves) == ["1R-TP4 tp none", "1R-TP4 tp split", "1R-TP4 weight-gather none"]
    assert curves["1R-TP4 tp split"] == [(8, 1 / 0.03, 8 / (0.03 * 4), False)]
    assert {plot_pareto.config_of(c) for c in curves} == {"1R-TP4"}  # what --configs and colours match
    assert plot_pareto.config_of("1P-TP8 1D-TP8") == "1P-TP8 1D-TP8"
    # Points with and without a context: no "ctx None" curve.
    sweep.write_text('{"schema": "tpbench.result/1", "points": ['
                     '{"tp": 4, "batch": 8, "context": 128, "step_time_s": 0.02},'
                     '{"tp": 4, "batch": 16, "step_time_s": 0.03},'
                     '{"tp": 4, "batch": 8, "context": 256, "step_time_s": 0.05}]}')
    assert sorted(plot_pareto.read_points(str(sweep), "inv_tpot")) == ["1R-TP4", "1R-TP4 ctx 128", "1R-TP4 ctx 256"]


def test_inv_tpot_needs_a_tpot_column(tmp_path):
    out = tmp_path / "x.png"
    r = run(["--reference", str(FIX / "pareto_reference.csv"), "--per-user", "inv_tpot", "--out", str(out)])
    assert r.returncode != 0 and "1/TPOT" in r.stderr
    assert not out.exists()
