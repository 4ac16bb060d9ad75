"""Golden case runner: <case>/v2s.yaml + state.json (+ case.yaml) -> plan.json/.txt/.md.

case.yaml (optional):
  options: {targets: [...], replace: [...], refresh_only: bool, destroy: bool}
  create_before_destroy: [scw_server]      # resource types the provider replaces CBD
  refreshed: {ADDRESS: {attr: value} | null}  # what refresh reads (patch, or gone)
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from v2s_test.provider import TestProvider

from vmware2scw.config import expand, loads
from vmware2scw.desired import Desired
from vmware2scw.plan.model import Plan, PlanOptions
from vmware2scw.plan.planner import make_plan
from vmware2scw.provider import (
    ConfigureRequest,
    InventoryRequest,
    InventoryResponse,
    ReadRequest,
    ReadResponse,
    ResourceType,
)
from vmware2scw.refresh import refresh
from vmware2scw.state import codec
from vmware2scw.state.model import State

CASES = Path(__file__).parent
LINEAGE = "0a1b2c3d-0000-4000-8000-00000000c0de"


class CaseProvider(TestProvider):
    """The test provider with a case's replace order and refresh results."""

    def __init__(self, cbd: frozenset[str], refreshed: Mapping[str, Any]) -> None:
        super().__init__()
        self.cbd = cbd
        self.refreshed = refreshed

    def resource_types(self) -> Mapping[str, ResourceType]:
        types = dict(super().resource_types())
        for name in self.cbd:
            types[name] = types[name].model_copy(update={"create_before_destroy": True})
        return types

    def read(self, req: ReadRequest) -> ReadResponse:
        resp = super().read(req)
        attrs = dict(resp.attributes)
        for address, patch in self.refreshed.items():
            if address in attrs:
                attrs[address] = None if patch is None else {**(attrs[address] or {}), **patch}
        return ReadResponse(attributes=attrs)


def case_spec(case: Path) -> dict[str, Any]:
    path = case / "case.yaml"
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def load_desired(case: Path, text: str | None = None) -> tuple[Desired, dict[str, CaseProvider]]:
    """Expand the case's config (inventory from the test provider's `vms`)."""
    spec = case_spec(case)
    loaded = loads(text if text is not None else (case / "v2s.yaml").read_text(), "v2s.yaml")
    work = Path(tempfile.gettempdir())
    built: dict[str, CaseProvider] = {}

    def provider(name: str) -> CaseProvider:
        if name not in built:
            p = CaseProvider(frozenset(spec.get("create_before_destroy", ())),
                             spec.get("refreshed") or {})
            settings = dict(loaded.config.providers.get(name) or {})
            settings.pop("source", None)
            p.configure(ConfigureRequest(settings=settings, lineage=LINEAGE, work_dir=work))
            built[name] = p
        return built[name]

    def inventory(name: str, patterns: tuple[str, ...]) -> InventoryResponse:
        return provider(name).inventory(InventoryRequest(patterns=patterns))

    desired, _ = expand(loaded, lineage=LINEAGE, inventory=inventory)
    for name in desired.providers:
        provider(name)
    return desired, built


def load_state(case: Path) -> State:
    path = case / "state.json"
    if not path.exists():
        return State(lineage=LINEAGE)
    return codec.loads(path.read_bytes(), str(path))


def run_case(case: Path) -> Plan:
    """Refresh the case's state and plan it against its config."""
    desired, providers = load_desired(case)
    recorded = load_state(case)
    opts = PlanOptions(**(case_spec(case).get("options") or {}))
    state = recorded
    if opts.refresh:
        state, _ = refresh(recorded, providers)
    plan = make_plan(desired, state, providers, opts, recorded=recorded)
    return plan.model_copy(update={"v2s_version": ""})  # expectations survive releases
