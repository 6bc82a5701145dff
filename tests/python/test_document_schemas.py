"""Every document tpbench writes besides sweep, predict and recommend (their own test files) validates
against its schema under results/schema/, the schemas reject a document with a required field removed
or of the wrong type (so the checks can fail), and documents in the earlier shapes committed to the
tree still validate."""
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

SOURCE = Path(os.environ.get("TPBENCH_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BINARY = os.environ.get("TPBENCH_BINARY", str(SOURCE / "build" / "tpbench"))
REFERENCE = str(SOURCE / "results" / "llmd" / "llmd_pd_sweep_exact_from_tables.csv")
sys.path.insert(0, str(SOURCE / "scripts"))
import tpbench_schema  # noqa: E402


def run(*args):
    return subprocess.run([BINARY, *args], check=True, capture_output=True, text=True, timeout=300).stdout


def written(tmp_path, name, *args):
    out = tmp_path / name
    run(*args, str(out))
    return json.loads(out.read_text())


def rejects(doc, schema_file, what):
    try:
        tpbench_schema.validate(doc, schema_file)
    except jsonschema.ValidationError:
        return
    raise AssertionError(f"{schema_file} accepted {what}")


def without(doc, *path):
    bad = copy.deepcopy(doc)
    node = bad
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return bad


def replaced(doc, value, *path):
    bad = copy.deepcopy(doc)
    node = bad
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return bad


def prediction(tmp_path):
    return written(tmp_path, "p.json", "predict", "--layout", "1R-TP8,1P-TP8 1D-TP8", "--concurrency", "1,8",
                   "--out")


def test_provenance_has_one_shape_in_every_document(tmp_path):
    prediction(tmp_path)
    docs = {
        "comparison": written(tmp_path, "c.json", "compare", "--reference", REFERENCE, "--predicted",
                              str(tmp_path / "p.json"), "--json"),
        "collective": written(tmp_path, "coll.json", "collective", "--op", "all_gather", "--ranks", "2",
                              "--max-bytes", "1K", "--iters", "2", "--warmup", "1", "--backend", "cpu", "--json"),
        "toy": written(tmp_path, "t.json", "toy", "--curves", REFERENCE, "--json"),
        "prediction": json.loads((tmp_path / "p.json").read_text()),
    }
    for kind, doc in docs.items():
        assert doc["tool"]["name"] == "tpbench", kind
        assert set(doc["tool"]) == {"name", "version", "git_commit"}, kind
        assert doc["command_line"].split()[0] == BINARY, kind
        # Only documents of measurements carry the time they were written.
        assert ("created_utc" in doc) == (kind == "collective"), kind
        tpbench_schema.validate(doc)
    rejects(without(docs["collective"], "created_utc"), "collective.schema.json", "a measurement without its time")
    rejects(replaced(docs["toy"], "tpbench 0.1.0", "tool"), "toy.schema.json", "the tool as a string")
    rejects(without(docs["prediction"], "tool", "git_commit"), "prediction.schema.json", "a tool without its commit")


def test_comparison(tmp_path):
    prediction(tmp_path)
    doc = written(tmp_path, "c.json", "compare", "--reference", REFERENCE, "--predicted", str(tmp_path / "p.json"),
                  "--json")
    tpbench_schema.validate(doc, "comparison.schema.json")
    assert doc["matched_points"] == 4
    rejects(without(doc, "points", 0, "ape_tokens_per_s_per_gpu"), "comparison.schema.json", "a point without its error")
    rejects(replaced(doc, "4", "matched_points"), "comparison.schema.json", "a count as a string")
    rejects(replaced(doc, "median", "per_user_definition"), "comparison.schema.json", "an unknown per-user definition")


def test_fit(tmp_path):
    doc = written(tmp_path, "f.json", "fit", "--reference", REFERENCE, "--max-evals", "10", "--json")
    tpbench_schema.validate(doc, "fit.schema.json")
    assert doc["heldout"]["schema"] == "tpbench.comparison/1"
    rejects(without(doc, "parameters"), "fit.schema.json", "a fit without its parameters")
    rejects(replaced(doc, "yes", "converged"), "fit.schema.json", "converged as a string")
    rejects(without(doc, "heldout", "configs"), "fit.schema.json", "a held-out comparison without configs")


def test_toy(tmp_path):
    doc = written(tmp_path, "t.json", "toy", "--curves", REFERENCE, "--json")
    tpbench_schema.validate(doc, "toy.schema.json")
    rejects(without(doc, "sources", 0, "curves", 0, "tau_s"), "toy.schema.json", "a fitted curve without tau")
    rejects(replaced(doc, "middle", "sources", 0, "curves", 0, "knee"), "toy.schema.json", "an unknown knee")


def test_collective(tmp_path):
    doc = written(tmp_path, "coll.json", "collective", "--op", "reduce_scatter", "--ranks", "3", "--max-bytes", "1K",
                  "--iters", "2", "--warmup", "1", "--backend", "cpu", "--json")
    tpbench_schema.validate(doc, "collective.schema.json")
    rejects(without(doc, "points", 0, "busbw"), "collective.schema.json", "a point without busbw")
    rejects(replaced(doc, 1.5, "points", 0, "wrong"), "collective.schema.json", "a fractional count of wrong elements")


def test_profiles_and_op_price():
    profiles = json.loads(run("profile", "show", "--json"))
    assert len(profiles) >= 3
    for p in profiles:
        tpbench_schema.validate(p, "profile.schema.json")
    one = json.loads(run("profile", "show", "h100-sxm", "--json"))
    tpbench_schema.validate(one, "profile.schema.json")
    rejects(without(one, "hbm_bandwidth"), "profile.schema.json", "a profile without its HBM bandwidth")
    rejects(replaced(one, [[1, 2, 3]], "gemm_efficiency"), "profile.schema.json", "a table row of three numbers")
    op = json.loads(run("profile", "op", "--gemm", "8,1024,1024", "--json"))
    tpbench_schema.validate(op, "op-price.schema.json")
    rejects(without(op, "seconds"), "op-price.schema.json", "a price without its time")
    rejects(replaced(op, "fast", "bound"), "op-price.schema.json", "an unknown bound")


def test_models():
    presets = json.loads(run("models", "--json"))
    tpbench_schema.validate(presets, "models.schema.json")
    moe = json.loads(run("models", "--model-config", str(SOURCE / "tests" / "fixtures" / "mixtral_8x7b_config.json"),
                         "--json"))
    tpbench_schema.validate(moe, "models.schema.json")
    assert moe[0]["experts"]["routed"] == 8
    rejects(without(presets, 0, "num_hidden_layers"), "models.schema.json", "a model without its layer count")
    rejects(replaced(presets, "bf16", 0, "dtype"), "models.schema.json", "an unknown dtype name")
    rejects(without(moe, 0, "experts", "per_token"), "models.schema.json", "experts without their count per token")


def test_documents_in_the_tree_validate():
    """The committed explanation's prediction (short model block, "command") and the measured-sweep
    fixture read by the measured step-time tests."""
    for path in [SOURCE / "results" / "model" / "explain_prediction.json",
                 SOURCE / "tests" / "fixtures" / "measured_sweep_tiny.json"]:
        tpbench_schema.validate(json.loads(path.read_text()))


def test_validator_command_line(tmp_path):
    doc = written(tmp_path, "coll.json", "collective", "--op", "all_reduce", "--ranks", "2", "--max-bytes", "64",
                  "--iters", "1", "--warmup", "0", "--backend", "cpu", "--json")
    script = str(SOURCE / "scripts" / "tpbench_schema.py")
    ok = subprocess.run([sys.executable, script, str(tmp_path / "coll.json")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "bad.json").write_text(json.dumps(without(doc, "ranks")))
    bad = subprocess.run([sys.executable, script, str(tmp_path / "bad.json")], capture_output=True, text=True)
    assert bad.returncode == 1 and "'ranks' is a required property" in bad.stderr, bad.stderr
    unknown = subprocess.run([sys.executable, script, str(tmp_path / "bad.json"), "no-such.schema.json"],
                             capture_output=True, text=True)
    assert unknown.returncode == 2
