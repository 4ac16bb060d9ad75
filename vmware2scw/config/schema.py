"""The JSON Schema of the desired-state file (``schemas/config.schema.json``).

Generated from the pydantic models; non-string fields also accept a ``${...}`` template
string (a variable whose value has that type), so editors do not flag valid files.
"""

from __future__ import annotations

import json
from typing import Any

from vmware2scw.config.model import Config

DRAFT = "https://json-schema.org/draft/2020-12/schema"
TEMPLATE = {"type": "string", "pattern": r"\$\{", "description": "A ${...} template."}
_SCALARS = {"boolean", "integer", "number", "array"}


def _allow_templates(node: Any) -> Any:
    """Wrap every non-string leaf schema as ``anyOf: [leaf, template string]``."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
            out[key] = {k: _allow_templates(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _allow_templates(value)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            out[key] = [_allow_templates(v) for v in value]
        else:
            out[key] = value
    kind = out.get("type")
    typed = (
        (isinstance(kind, str) and kind in _SCALARS)
        or "enum" in out
        or ("const" in out and not isinstance(out["const"], str))
    )
    if typed:
        meta = {k: out.pop(k) for k in ("title", "description", "default") if k in out}
        return {**meta, "anyOf": [out, TEMPLATE]}
    return out


def json_schema() -> dict[str, Any]:
    """The config JSON Schema (draft 2020-12)."""
    schema = Config.model_json_schema(mode="validation")
    defs = {name: _allow_templates(d) for name, d in schema.pop("$defs", {}).items()}
    props = schema.get("properties", {})
    for name, prop in list(props.items()):
        if name != "v2s":
            props[name] = _allow_templates(prop)
    props["v2s"] = {"const": 1, "description": props["v2s"].get("description", "")}
    props["providers"]["additionalProperties"] = {
        "type": "object",
        "properties": {"source": {"type": "string", "description": "Plug-in name."}},
        "additionalProperties": True,
    }
    return {"$schema": DRAFT, "title": "v2s desired-state file", **schema, "$defs": defs}


def schema_text() -> str:
    """The file content of schemas/config.schema.json (same format as ``v2s schema``)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
