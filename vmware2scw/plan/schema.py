"""JSON Schemas of the plan and state files, generated from their models (schemas/)."""

from __future__ import annotations

import json
from typing import Any

from vmware2scw.plan.model import Plan
from vmware2scw.state import codec

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of a plan file (``v2s plan -out``, ``v2s show --json``)."""
    schema = Plan.model_json_schema(mode="serialization")
    schema["$schema"] = DRAFT
    schema["title"] = "v2s plan"
    return schema


def state_json_schema() -> dict[str, Any]:
    """The JSON Schema of a state file (owned by the state codec)."""
    return codec.json_schema()


def schema_text(schema: dict[str, Any]) -> str:
    """Stable text for a schema file: sorted keys, two-space indent, final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


SCHEMA_FILES = {"plan.schema.json": plan_json_schema, "state.schema.json": state_json_schema}
