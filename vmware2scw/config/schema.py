"""The JSON Schema of the desired-state file (``schemas/config.schema.json``)."""

from __future__ import annotations

import json
from typing import Any

from vmware2scw.config.model import Config

SCHEMA_ID = "https://vmware2scw.dev/schemas/config.schema.json"


def json_schema() -> dict[str, Any]:
    """The config JSON Schema (draft 2020-12), stable for a given model."""
    schema = Config.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "v2s desired-state file",
        **schema,
    }


def render() -> str:
    """The schema as the text stored in the repository (sorted keys, trailing newline)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
