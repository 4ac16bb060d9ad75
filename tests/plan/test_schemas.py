"""schemas/plan.schema.json and schemas/state.schema.json must match the models.

Set V2S_UPDATE_GOLDEN=1 to regenerate them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vmware2scw.plan.schema import SCHEMA_FILES, schema_text

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.mark.parametrize("name", sorted(SCHEMA_FILES))
def test_schema_file_is_current(name: str):
    text = schema_text(SCHEMA_FILES[name]())
    path = SCHEMAS / name
    if os.environ.get("V2S_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists() and path.read_text() == text, (
        f"schemas/{name} is out of date: run `V2S_UPDATE_GOLDEN=1 pytest "
        "tests/plan/test_schemas.py` (or `make schemas`) and commit it"
    )


def test_plan_schema_describes_a_real_plan_file():
    schema = json.loads((SCHEMAS / "plan.schema.json").read_text())
    assert set(schema["required"]) >= {"lineage", "serial"}
    change = schema["$defs"]["ResourceChange"]["properties"]
    assert {"address", "action", "reason", "before", "after", "after_unknown",
            "replace_paths"} <= set(change)
    assert set(schema["$defs"]["Action"]["enum"]) == {
        "no-op", "create", "update", "delete-then-create", "create-then-delete", "delete"}


def test_golden_plan_and_state_files_validate():
    jsonschema = pytest.importorskip("jsonschema")
    golden = SCHEMAS.parent / "tests" / "golden"
    for name, pattern in (("plan.schema.json", "*/plan.json"),
                          ("state.schema.json", "*/state.json")):
        schema = json.loads((SCHEMAS / name).read_text())
        files = sorted(golden.glob(pattern))
        assert files, pattern
        for path in files:
            jsonschema.validate(json.loads(path.read_text()), schema)
