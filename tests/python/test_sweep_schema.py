"""Every document `tpbench sweep` writes validates against results/schema/tpbench.result-1.schema.json,
and the schema rejects documents that break it (so the check can fail)."""
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
sys.path.insert(0, str(SOURCE / "scripts"))
import tpbench_schema  # noqa: E402


def sweep(tmp_path, *args, model="tiny"):
    out = tmp_path / "sweep.json"
    cmd = [BINARY, "sweep", "--backend", "cpu", "--model", model, "--budget", "0.05", "--no-progress",
           "--out", str(out), *args]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300)
    return json.loads(out.read_text())


@pytest.mark.parametrize("plan", ["tp", "tp-sp", "weight-gather"])
def test_done_criterion_sweep_validates(tmp_path, plan):
    doc = sweep(tmp_path, "--plan", plan, "--tp", "1,2,4", "--batch", "1,4", "--verify")
    tpbench_schema.validate(doc, "tpbench.result-1.schema.json")
    assert len(doc["points"]) == 6
    assert all(p["verified"] is True for p in doc["points"])
    # --verify also checked the collectives of every TP group exactly.
    assert all(p["collectives_exact"] is True for p in doc["points"] if p["tp"] > 1)
    assert {c["ranks"] for c in doc["collective_check"]} == {2, 4}
    assert all(c["wrong"] == 0 for c in doc["collective_check"])
    for p in doc["points"]:
        # Metric definitions (docs/architecture.md): tok/s/user = 1/TPOT, tok/s/GPU = B / (TPOT x N).
        assert p["tokens_per_s_per_user"] == pytest.approx(1 / p["tpot_s"])
        assert p["tokens_per_s_per_gpu"] == pytest.approx(p["batch"] / (p["tpot_s"] * p["tp"]))


def test_prefill_and_overlap_documents_validate(tmp_path):
    doc = sweep(tmp_path, "--plan", "tp", "--overlap", "none,streams,split", "--tp", "2", "--batch", "2",
                "--phase", "prefill", "--context", "64", "--chunk", "32")
    tpbench_schema.validate(doc, "tpbench.result-1.schema.json")
    assert {p["overlap"] for p in doc["points"]} == {"none", "streams", "split"}
    assert all("ttft_s" in p for p in doc["points"])


def test_not_runnable_point_is_reported_and_sweep_goes_on(tmp_path):
    doc = sweep(tmp_path, "--tp", "8", "--batch", "1", "--layers", "80",
                "--context", "128", model="llama-3.1-70b")
    tpbench_schema.validate(doc, "tpbench.result-1.schema.json")
    assert doc["points"][0]["status"] == "not_runnable"
    assert "memory" in doc["points"][0]["reason"]


def test_schema_rejects_broken_documents(tmp_path):
    doc = sweep(tmp_path, "--tp", "2", "--batch", "1")
    bad = copy.deepcopy(doc)
    del bad["points"][0]["step_time_s"]
    with pytest.raises(jsonschema.ValidationError):
        tpbench_schema.validate(bad, "tpbench.result-1.schema.json")
    bad = copy.deepcopy(doc)
    bad["points"][0]["plan"] = "pipeline"
    with pytest.raises(jsonschema.ValidationError):
        tpbench_schema.validate(bad, "tpbench.result-1.schema.json")
    bad = copy.deepcopy(doc)
    bad["schema"] = "tpbench.result/2"
    with pytest.raises(jsonschema.ValidationError):
        tpbench_schema.validate(bad, "tpbench.result-1.schema.json")


def test_cuda_point_fields_validate_and_bad_values_are_rejected(tmp_path):
    """The fields only the cuda backend writes: the kernel choices and the emulation caveat."""
    doc = sweep(tmp_path, "--tp", "2", "--batch", "1")
    point = doc["points"][0]
    assert "kernels" not in point and "overlap_optimistic" not in point  # cpu: neither
    point["emulated"] = True
    point["overlap_optimistic"] = True
    point["kernels"] = {"attention": "cudnn-sdpa", "attention_library": "cuDNN 9.19.0, cudnn-frontend 1.32.0",
                        "decode_attention_ours_s": 1.2e-5, "decode_attention_library_s": 1.5e-5,
                        "gemm_shapes": 7, "skinny_gemm_shapes": 3}
    tpbench_schema.validate(doc, "tpbench.result-1.schema.json")
    for field, value in [("attention", "naive"), ("gemm_shapes", -1)]:
        bad = copy.deepcopy(doc)
        bad["points"][0]["kernels"][field] = value
        with pytest.raises(jsonschema.ValidationError):
            tpbench_schema.validate(bad, "tpbench.result-1.schema.json")
    bad = copy.deepcopy(doc)
    bad["points"][0]["overlap_optimistic"] = "yes"
    with pytest.raises(jsonschema.ValidationError):
        tpbench_schema.validate(bad, "tpbench.result-1.schema.json")
