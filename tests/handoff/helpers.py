"""Render a golden case the way `v2s handoff terraform` does, and read HCL back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hcl2
from v2s_scaleway.handoff import NOTES, REQUIRED_PROVIDERS, Observed, to_iac

from vmware2scw.handoff import writer
from vmware2scw.handoff.select import select
from vmware2scw.provider import HandoffRecord, HandoffResponse, IacResource
from vmware2scw.state import codec
from vmware2scw.state.model import State

CASES = Path(__file__).parent / "cases"


def load_case(case: Path) -> tuple[State, dict[str, Observed]]:
    state = codec.loads((case / "state.json").read_bytes(), str(case / "state.json"))
    observed = {a: Observed.model_validate(o)
                for a, o in json.loads((case / "observed.json").read_text()).items()}
    return state, observed


def resources_of(state: State, observed: dict[str, Observed], targets: tuple[str, ...] = ()
                 ) -> tuple[list[IacResource], dict[str, str], dict[str, str]]:
    """The mapped resources, migration by record address, and identifier by migration."""
    chosen = select(state, {"scw_server"}, targets)
    out: list[IacResource] = []
    for r in chosen.records:
        rec = HandoffRecord(address=r.address, type=r.type, attributes=r.attributes,
                            migration=r.migration, name=chosen.names[r.migration])
        out += to_iac(rec, observed[r.address])
    return out, {r.address: r.migration for r in chosen.records}, chosen.names


def render_case(case: Path, targets: tuple[str, ...] = ()) -> dict[str, str]:
    state, observed = load_case(case)
    resources, migration_of, names = resources_of(state, observed, targets)
    resp = HandoffResponse(required_providers=REQUIRED_PROVIDERS, resources=tuple(resources),
                           notes=NOTES)
    return writer.render([resp], migration_of, names, state.lineage)


def unquote(v: Any) -> Any:
    """python-hcl2 keeps quotes and wraps references in ``${}``: strip both."""
    if isinstance(v, str):
        if len(v) >= 2 and v[0] == v[-1] == '"':
            return json.loads(v)
        if v.startswith("${") and v.endswith("}"):
            return v[2:-1]
        return v
    if isinstance(v, list):
        return [unquote(i) for i in v]
    if isinstance(v, dict):
        return {unquote(k): unquote(x) for k, x in v.items() if k != "__is_block__"}
    return v


def parse(text: str) -> dict[str, Any]:
    """HCL text -> plain data (raises if the text is not valid HCL)."""
    return unquote(hcl2.loads(text))


def declared(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``type.name`` -> arguments of every resource block in the .tf files."""
    out: dict[str, dict[str, Any]] = {}
    for name, text in files.items():
        if not name.endswith(".tf"):
            continue
        for block in parse(text).get("resource", []):
            for rtype, named in block.items():
                for rname, body in named.items():
                    key = f"{rtype}.{rname}"
                    assert key not in out, f"{key} declared twice"
                    out[key] = body
    return out


def imports(files: dict[str, str]) -> list[tuple[str, str]]:
    """(to, id) of every import block."""
    return [(b["to"], b["id"]) for b in parse(files["imports.tf"]).get("import", [])]
