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
