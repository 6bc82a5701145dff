#!/usr/bin/env python3
"""Validates tpbench's JSON documents against results/schema/, whose schemas refer to each other
(provenance.schema.json, model.schema.json) by relative $ref.

    python3 scripts/tpbench_schema.py DOC.json [SCHEMA_FILE]

picks the schema from the document's "schema" field unless SCHEMA_FILE (a file name under
results/schema/, e.g. models.schema.json for `tpbench models --json`) is given; exit 0 when the
document is valid, 1 with the first error when it is not, 2 on bad arguments.
"""
import json
import sys
from pathlib import Path

import jsonschema
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "results" / "schema"

# The "schema" field of each document kind -> its schema file.
BY_KIND = {
    "tpbench.result/1": "tpbench.result-1.schema.json",
    "tpbench.prediction/1": "prediction.schema.json",
    "tpbench.recommendation/1": "recommendation.schema.json",
    "tpbench.comparison/1": "comparison.schema.json",
    "tpbench.fit/1": "fit.schema.json",
    "tpbench.toy/1": "toy.schema.json",
    "tpbench.collective/1": "collective.schema.json",
    "tpbench.profile/1": "profile.schema.json",
}


def _load_all():
    schemas = {f.name: json.loads(f.read_text()) for f in sorted(SCHEMA_DIR.glob("*.schema.json"))}
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values())
    return schemas, registry


SCHEMAS, REGISTRY = _load_all()


def schema_file_for(doc):
    kind = doc.get("schema") if isinstance(doc, dict) else None
    if kind not in BY_KIND:
        raise ValueError(f"no schema known for a document with schema {kind!r}")
    return BY_KIND[kind]


def validator(schema_file):
    schema = SCHEMAS[schema_file]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, registry=REGISTRY)


def validate(doc, schema_file=None):
    """Raises jsonschema.ValidationError when `doc` breaks its schema."""
    validator(schema_file or schema_file_for(doc)).validate(doc)


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        doc = json.loads(Path(argv[1]).read_text())
        schema_file = argv[2] if len(argv) == 3 else schema_file_for(doc)
        if schema_file not in SCHEMAS:
            raise ValueError(f"no schema file {schema_file} in {SCHEMA_DIR}")
    except (OSError, ValueError) as e:
        print(f"tpbench_schema: {e}", file=sys.stderr)
        return 2
    try:
        validate(doc, schema_file)
    except jsonschema.ValidationError as e:
        print(f"{argv[1]}: invalid against {schema_file}: {e.message} at {list(e.absolute_path)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
