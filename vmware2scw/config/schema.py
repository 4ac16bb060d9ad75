"""The JSON Schema of the desired-state file (``schemas/config.schema.json``).

Generated from the pydantic models; non-string fields also accept a ``${...}`` template
string (a variable whose value has that type), so editors do not flag valid files.
"""

from __future__ import annotations

import json
from typing import Any

from vmware2scw.config.model import Config
from vmware2scw.errors import V2SError
from vmware2scw.registry import available, instantiate

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


def _settings_schemas() -> dict[str, dict[str, Any]]:
    """Each installed plug-in's settings schema (its settings_model), by plug-in name."""
    out: dict[str, dict[str, Any]] = {}
    for name in available():
        try:
            model = instantiate(name).settings_model
        except V2SError:
            continue
        if model is None:
            continue
        schema = model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
        inner = schema.pop("$defs", {})
        schema.setdefault("properties", {})["source"] = {
            "const": name, "description": "The plug-in serving this block."}
        out[name] = _allow_templates({**schema, "$defs": inner} if inner else schema)
    return out


def _providers_schema(defs: dict[str, Any]) -> dict[str, Any]:
    """``providers:``: a block is checked against its plug-in's settings (``source``, or the
    local name when ``source`` is absent)."""
    plugins = _settings_schemas()
    rules: list[dict[str, Any]] = []
    named: dict[str, Any] = {}
    for name, schema in sorted(plugins.items()):
        nested = schema.pop("$defs", {})
        defs.update(nested)
        key = f"settings_{name}"
        defs[key] = schema
        rules.append({"if": {"required": ["source"], "properties": {"source": {"const": name}}},
                      "then": {"$ref": f"#/$defs/{key}"}})
        named[name] = {"if": {"not": {"required": ["source"]}},
                       "then": {"$ref": f"#/$defs/{key}"}}
    generic = {"type": "object",
               "properties": {"source": {"type": "string", "description": "Plug-in name."}},
               "allOf": rules}
    return {"type": "object", "description": "Provider blocks by local name.",
            "properties": {n: {"allOf": [generic, rule]} for n, rule in named.items()},
            "additionalProperties": generic}


def json_schema() -> dict[str, Any]:
    """The config JSON Schema (draft 2020-12), with the installed plug-ins' settings."""
    schema = Config.model_json_schema(mode="validation")
    defs = {name: _allow_templates(d) for name, d in schema.pop("$defs", {}).items()}
    props = schema.get("properties", {})
    for name, prop in list(props.items()):
        if name != "v2s":
            props[name] = _allow_templates(prop)
    props["v2s"] = {"const": 1, "description": props["v2s"].get("description", "")}
    props["providers"] = _providers_schema(defs)
    return {"$schema": DRAFT, "title": "v2s desired-state file", **schema, "$defs": defs}


def schema_text() -> str:
    """The file content of schemas/config.schema.json (same format as ``v2s schema``)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
