"""`tpbench recommend` documents validate against results/schema/recommendation.schema.json (the
layouts' best points against the prediction schema's point), the schema rejects broken ones, and
scripts/plot_recommend.py draws them."""
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema

SOURCE = Path(os.environ.get("TPBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BINARY = os.environ.get("TPBENCH_BINARY", str(SOURCE / "build" / "tpbench"))
sys.path.insert(0, str(SOURCE / "scripts"))
import tpbench_schema  # noqa: E402
SMALL = ["--model", "llama-3.1-8b", "--gpus", "2", "--isl", "1000", "--osl", "100", "--max-concurrency", "16",
         "--prompts-per-user", "2", "--no-progress"]


def recommend(tmp_path, *targets):
    out = tmp_path / "rec.json"
    subprocess.run([BINARY, "recommend", *SMALL, *targets, "--out", str(out)], check=True, capture_output=True,
                   text=True, timeout=300)
    return json.loads(out.read_text())


def rejects(doc, what):
    try:
        tpbench_schema.validate(doc, "recommendation.schema.json")
    except jsonschema.ValidationError:
        return
    raise AssertionError("schema accepted " + what)


def test_recommendation_validates_and_schema_can_fail(tmp_path):
    doc = recommend(tmp_path, "--tpot-ms", "20")
    tpbench_schema.validate(doc, "recommendation.schema.json")
    assert doc["recommendation"] is not None and doc["none_meets"] is None
    names = [lay["layout"] for lay in doc["layouts"]]
    # 8B fits one GPU: 2R-TP1, 1R-TP2 and 1P-TP1 1D-TP1 on 2 GPUs.
    assert names == ["2R-TP1", "1R-TP2", "1P-TP1 1D-TP1"], names
    points = [lay["best"] for lay in doc["layouts"] if lay["best"]]
    as_prediction = {k: doc[k] for k in ("tool", "profile", "model", "workload", "scheme", "params")}
    as_prediction.update(schema="tpbench.prediction/1", points=points)
    tpbench_schema.validate(as_prediction, "prediction.schema.json")
    assert doc["recommendation"]["tpot_s"] <= 0.020
    bad = copy.deepcopy(doc)
    bad["targets"]["min_tokens_per_s_per_user"] = 50.0
    rejects(bad, "both a TPOT target and a per-user floor")
    bad = copy.deepcopy(doc)
    bad["recommendation"]["serving"] = []
    rejects(bad, "a recommendation without a serving command")
    bad = copy.deepcopy(doc)
    del bad["layouts"][0]["curve"]
    rejects(bad, "a layout without its curve")


def test_none_meets_validates(tmp_path):
    doc = recommend(tmp_path, "--tpot-ms", "0.5")
    tpbench_schema.validate(doc, "recommendation.schema.json")
    assert doc["recommendation"] is None
    assert doc["none_meets"]["binding_target"] == "TPOT"


def test_plot_renders(tmp_path):
    doc = recommend(tmp_path, "--ttft-ms", "500", "--tpot-ms", "20")
    src = tmp_path / "rec.json"
    src.write_text(json.dumps(doc))
    png = tmp_path / "rec.png"
    r = subprocess.run([sys.executable, str(SOURCE / "scripts" / "plot_recommend.py"), "--recommendation", str(src),
                        "--out", str(png)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
    sys.path.insert(0, str(SOURCE / "scripts"))
    import plot_recommend  # noqa: E402

    [(x, label)] = plot_recommend.target_lines(doc)
    assert abs(x - 50.0) < 1e-9 and label == "TPOT <= 20 ms", (x, label)
    assert set(plot_recommend.curves(doc)) == {lay["layout"] for lay in doc["layouts"] if lay["curve"]}


def test_expert_parallel_recommendation_validates(tmp_path):
    out = tmp_path / "moe.json"
    subprocess.run([BINARY, "recommend", "--model", "tiny-moe", "--gpus", "4", "--isl", "1000", "--osl", "100",
                    "--max-concurrency", "8", "--prompts-per-user", "2", "--no-progress", "--aggregated-only",
                    "--out", str(out)], check=True, capture_output=True, text=True, timeout=300)
    doc = json.loads(out.read_text())
    tpbench_schema.validate(doc, "recommendation.schema.json")
    names = [lay["layout"] for lay in doc["layouts"]]
    # tiny-moe's 8 experts: every EP dividing TP 2 and 4.
    assert names == ["4R-TP1", "2R-TP2", "2R-TP2EP2", "1R-TP4", "1R-TP4EP2", "1R-TP4EP4"], names
    assert [(s["tp"], s["ep"]) for s in doc["instance_sizes"] if s["serves"]] == \
        [(1, 1), (2, 1), (2, 2), (4, 1), (4, 2), (4, 4)]
    assert any(line.startswith("Experts: ") for line in doc["recommendation"]["why"])
    # A pool vLLM cannot express carries no command and says why; a command never comes with such a reason.
    inexpressible = {"role": "replica", "instances": 1, "tp": 4, "ep": 2, "max_num_seqs": 8, "command": None,
                     "not_expressible": "vLLM cannot deploy TP4EP2"}
    good = copy.deepcopy(doc)
    good["recommendation"]["serving"] = [inexpressible]
    tpbench_schema.validate(good, "recommendation.schema.json")
    bad = copy.deepcopy(good)
    del bad["recommendation"]["serving"][0]["not_expressible"]
    rejects(bad, "a missing command without a reason")
    bad = copy.deepcopy(doc)
    bad["recommendation"]["serving"][0]["not_expressible"] = "why"
    rejects(bad, "a command together with a reason it cannot exist")
