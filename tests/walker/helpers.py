"""Hand-built plans, an in-memory state manager and a call-counting provider for walker tests."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from v2s_test.provider import TestProvider

from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.model import Plan, ResourceChange
from vmware2scw.provider import ConfigureRequest
from vmware2scw.state.model import State

LINEAGE = "11111111-2222-3333-4444-555555555555"


class MemoryStateManager:
    """Holds the state, bumps the serial on persist and keeps every persisted JSON text."""

    def __init__(self, state: State | None = None) -> None:
        self.state = state or State(lineage=LINEAGE)
        self.history: list[str] = []
        self._lock = threading.Lock()

    def update(self, change: Callable[[State], State]) -> State:
        with self._lock:
            new = change(self.state)
            self.state = new.model_copy(update={"serial": self.state.serial + 1})
            self.history.append(self.state.model_dump_json())
            return self.state

    def persist(self, state: State) -> State:
        return self.update(lambda _: state)


class CountingProvider(TestProvider):
    """The test provider, counting concurrent apply/delete calls globally and per kind."""

    def __init__(self) -> None:
        super().__init__()
        self._gate = threading.Lock()
        self.now = 0
        self.peak = 0
        self.now_kind: Counter[str] = Counter()
        self.peak_kind: Counter[str] = Counter()
        self.planned_seen: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []

    def _enter(self, type_name: str) -> None:
        kind = self.resource_types()[type_name].kind
        with self._gate:
            self.now += 1
            self.now_kind[kind] += 1
            self.peak = max(self.peak, self.now)
            self.peak_kind[kind] = max(self.peak_kind[kind], self.now_kind[kind])

    def _leave(self, type_name: str) -> None:
        kind = self.resource_types()[type_name].kind
        with self._gate:
            self.now -= 1
            self.now_kind[kind] -= 1

    def apply(self, req, ctx):  # type: ignore[no-untyped-def]
        self._enter(req.type)
        try:
            with self._gate:
                self.order.append(req.address)
                self.planned_seen[req.address] = dict(req.planned)
            return super().apply(req, ctx)
        finally:
            self._leave(req.type)

    def delete(self, req, ctx):  # type: ignore[no-untyped-def]
        self._enter(req.type)
        try:
            return super().delete(req, ctx)
        finally:
            self._leave(req.type)


def make_provider(tmp_path: Path, **settings: Any) -> CountingProvider:
    prov = CountingProvider()
    settings.setdefault("store", str(tmp_path / "cloud.json"))
    prov.configure(ConfigureRequest(settings=settings, lineage=LINEAGE, work_dir=tmp_path))
    return prov


def change(address: str, type_: str, *, depends_on: tuple[str, ...] = (),
           config: dict[str, Any] | None = None, action: Action = Action.CREATE,
           transient: bool = False, priority: int = 0, **kw: Any) -> ResourceChange:
    config = dict(config or {"name": address})
    return ResourceChange(
        address=address, type=type_, provider="test", action=action,
        reason=kw.pop("reason", Reason.NEW if action is Action.CREATE else Reason.DESTROY),
        after=None if action is Action.DELETE else config, config=config,
        depends_on=depends_on, transient=transient, priority=priority, **kw)


def chain(name: str, disks: int = 1, priority: int = 0) -> list[ResourceChange]:
    """The resource chain of one migration (docs/resources.md), references included."""
    m = f"migration.{name}"
    out = [change(f"{m}.vmware_snapshot", "vmware_snapshot", transient=True, priority=priority,
                  config={"vm": name, "name": "v2s-test"})]
    for k in range(disks):
        out.append(change(f"{m}.disk_export[{k}]", "disk_export", transient=True,
                          priority=priority, depends_on=(f"{m}.vmware_snapshot",),
                          config={"vm": name, "disk_index": k, "capacity_bytes": 2**30,
                                  "snapshot": f"${{{m}.vmware_snapshot.snapshot_moref}}"}))
    exports = tuple(f"{m}.disk_export[{k}]" for k in range(disks))
    for k in range(disks):
        out.append(change(f"{m}.qcow2_artifact[{k}]", "qcow2_artifact", transient=True,
                          priority=priority, depends_on=exports,
                          config={"vm": name, "disk_index": k,
                                  "disks": [f"${{{e}.path}}" for e in exports]}))
        out.append(change(f"{m}.s3_object[{k}]", "s3_object", transient=True, priority=priority,
                          depends_on=(f"{m}.qcow2_artifact[{k}]",),
                          config={"source_path": f"${{{m}.qcow2_artifact[{k}].path}}",
                                  "key": f"{name}/disk{k}.qcow2"}))
        out.append(change(f"{m}.scw_snapshot[{k}]", "scw_snapshot", priority=priority,
                          depends_on=(f"{m}.s3_object[{k}]",),
                          config={"name": f"{name}-{k}", "key": f"${{{m}.s3_object[{k}].etag}}"}))
    snaps = tuple(f"{m}.scw_snapshot[{k}]" for k in range(disks))
    out.append(change(f"{m}.scw_image", "scw_image", priority=priority, depends_on=snaps,
                      config={"name": name, "root_snapshot_id": f"${{{snaps[0]}.id}}"}))
    out.append(change(f"{m}.scw_server", "scw_server", priority=priority,
                      depends_on=(f"{m}.scw_image",),
                      config={"name": name, "image_id": f"${{{m}.scw_image.id}}"}))
    return out


def plan_of(changes: list[ResourceChange], **kw: Any) -> Plan:
    return Plan(lineage=LINEAGE, serial=0,
                changes=tuple(sorted(changes, key=lambda c: c.address)), **kw)


def store_objects(tmp_path: Path) -> list[dict[str, Any]]:
    data = json.loads((tmp_path / "cloud.json").read_text())
    return list(data["objects"].values())
