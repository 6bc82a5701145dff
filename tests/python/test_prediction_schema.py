"""`tpbench predict` documents validate against results/schema/prediction.schema.json, and the
schema rejects broken documents (so the check can fail)."""
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


def predict(tmp_path):
    out = tmp_path / "pred.json"
    subprocess.run([BINARY, "predict", "--layout", "1R-TP2,2R-TP4,1P-TP8 1D-TP8", "--concurrency", "1,8",
                    "--out", str(out)], check=True, capture_output=True, text=True, timeout=120)
    return json.loads(out.read_text())


def test_prediction_validates_and_schema_can_fail(tmp_path):
    doc = predict(tmp_path)
    tpbench_schema.validate(doc, "prediction.schema.json")
    assert len(doc["points"]) == 6
    bad = copy.deepcopy(doc)
    del bad["points"][0]["tokens_per_s_per_gpu"]
    try:
        tpbench_schema.validate(bad, "prediction.schema.json")
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("schema accepted a point without tokens_per_s_per_gpu")
    bad = copy.deepcopy(doc)
    bad["points"][0]["layout"] = "TP4"
    try:
        tpbench_schema.validate(bad, "prediction.schema.json")
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("schema accepted a non-canonical layout")
