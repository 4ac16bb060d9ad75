"""The `test` provider: every type of docs/resources.md, a JSON cloud store, fault knobs.

Settings: ``store`` (JSON file shared across processes; absent = in memory), ``vms``
(inventory), ``fail``/``fail_delete`` (address globs, permanent errors),
``transient_failures`` ({glob: n} first n applies fail transiently, with the hint
``retry_after``), ``delay`` (seconds per apply), ``slow`` ({glob: seconds}),
``progress_steps`` (progress + checkpoints), ``create_before_destroy`` (type names).
An object already tagged with this lineage + address is adopted, never created twice.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from v2s_qemu.blueprint import compose_convert
from v2s_qemu.inplace import compose_in_place
from v2s_scaleway.blueprint import BLUEPRINTS, COMPOSERS
from v2s_vmware import starter
from v2s_vmware.blueprint import compose_export
from v2s_vmware.blueprint_sync import compose_sync

from v2s_test.store import Data, Store, live_objects
from v2s_test.types import RESOURCE_TYPES, computed_outputs, digest
from vmware2scw.config.patterns import name_filter
from vmware2scw.errors import ProviderError, TransientError
from vmware2scw.provider import (
    ApplyContext,
    ApplyRequest,
    ApplyResponse,
    Attrs,
    Blueprint,
    ComposeRequest,
    ComposeResponse,
    ConfigureRequest,
    ConfigureResponse,
    DeleteRequest,
    DeleteResponse,
    DiskFacts,
    HandoffRequest,
    HandoffResponse,
    IacResource,
    InventoryRequest,
    InventoryResponse,
    PlanRequest,
    PlanResponse,
    ReadRequest,
    ReadResponse,
    ResourceType,
    VMFacts,
)

CHUNK = 64 * 2**20  # bytes reported per progress step


class DiskSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    key: int
    capacity_bytes: int
    label: str = ""
    controller: str = "pvscsi"


class VMSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")
    name: str
    num_cpus: int = 1
    memory_mb: int = 1024
    disks: tuple[DiskSpec, ...] = ()
    change_version: str = "1"


class TestSettings(BaseModel):
    """Settings of the test provider; unknown keys (e.g. a real provider's) are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    store: str | None = None
    vms: tuple[VMSpec, ...] = ()
    fail: tuple[str, ...] = ()
    fail_delete: tuple[str, ...] = ()
    transient_failures: dict[str, int] = Field(default_factory=dict)
    retry_after: float | None = None  # the hint the transient failures carry
    delay: float = 0.0
    slow: dict[str, float] = Field(default_factory=dict)
    progress_steps: int = 0
    create_before_destroy: tuple[str, ...] = ()  # type names replaced new-first
    password: str | None = None  # accepted (and never echoed) to test secret handling


def _matches(address: str, globs: Mapping[str, Any] | tuple[str, ...]) -> str | None:
    for glob in globs:
        if address == glob or fnmatch.fnmatchcase(address, glob):
            return glob
    return None


class TestProvider:
    """Serves every resource type generically; see the module docstring for the knobs."""

    name = "test"
    settings_model: type[BaseModel] | None = TestSettings
    roles = frozenset({"source", "converter", "target"})
    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self.settings = TestSettings()
        self.lineage = ""
        self.work_dir = Path()
        self.store = Store(None)
        self.calls: list[tuple[str, str]] = []  # (verb, address) of this process
        self.operations: list[tuple[str, str, str]] = []  # (verb, address, ctx.operation)

    # --- protocol -------------------------------------------------------------------------

    def resource_types(self) -> Mapping[str, ResourceType]:
        if not self.settings.create_before_destroy:
            return RESOURCE_TYPES
        return {name: rt.model_copy(update={
            "create_before_destroy": name in self.settings.create_before_destroy})
            for name, rt in RESOURCE_TYPES.items()}

    def starter_yaml(self, vms: Sequence[VMFacts],
                     catalogue: Mapping[str, Mapping[str, Any]] | None) -> str:
        """The vmware provider's starter block (the test provider stands in for it)."""
        return starter.starter_yaml(vms, catalogue)

    def blueprints(self) -> tuple[Blueprint, ...]:
        return BLUEPRINTS

    def compose(self, req: ComposeRequest) -> ComposeResponse:
        """Every role's step, composed as the real providers compose it."""
        composer = {"export": compose_export, "convert": compose_convert,
                    "sync": compose_sync, "convert_in_place": compose_in_place,
                    **COMPOSERS}.get(req.phase)
        if composer is None:
            raise ProviderError(f"the test provider cannot compose phase {req.phase!r}")
        return composer(req)

    def configure(self, req: ConfigureRequest) -> ConfigureResponse:
        self.settings = TestSettings.model_validate(req.settings)
        self.lineage = req.lineage
        self.work_dir = req.work_dir
        path = self.settings.store
        self.store = Store(Path(path).expanduser().absolute() if path else None)
        return ConfigureResponse()

    def inventory(self, req: InventoryRequest) -> InventoryResponse:
        self._record("inventory", ",".join(req.patterns))
        wanted = name_filter(req.patterns)
        vms = [_facts(spec) for spec in self.settings.vms if wanted(spec.name)]
        return InventoryResponse(vms=tuple(sorted(vms, key=lambda v: v.name)))

    def read(self, req: ReadRequest) -> ReadResponse:
        self._record("read", f"{len(req.resources)} resources")
        if self.store.path is None:
            return ReadResponse(attributes={r.address: dict(r.attributes) for r in req.resources})
        data = self.store.snapshot()
        out: dict[str, Attrs | None] = {}
        for ref in req.resources:
            objs = live_objects(data, self.lineage, ref.address)
            out[ref.address] = dict(objs[0]["attributes"]) if objs else None
        return ReadResponse(attributes=out)

    def plan(self, req: PlanRequest) -> PlanResponse:
        rtype = self._type(req.type, req.address)
        unknown = set(req.desired_unknown)
        planned = dict(req.desired)
        if req.prior is None:  # a replace is planned from no prior (the planner decides it)
            for attr in rtype.computed:
                planned[attr] = None
                unknown.add(attr)
        else:
            for attr in rtype.computed:
                planned[attr] = req.prior.get(attr)
        return PlanResponse(planned=planned, unknown=tuple(sorted(unknown)))

    def apply(self, req: ApplyRequest, ctx: ApplyContext) -> ApplyResponse:
        self._type(req.type, req.address)
        self._record("apply", req.address)
        self.operations.append(("apply", req.address, getattr(ctx, "operation", "")))
        self._inject_failures(req.address)
        if req.prior is None:
            with self.store.transaction() as data:
                found = self._adoptable(data, req)
                if found:
                    _log(data, "adopt", req.address)
                    self.calls.append(("adopt", req.address))
                    return ApplyResponse(attributes=dict(found[0]["attributes"]))
        self._work(req, ctx)
        with self.store.transaction() as data:
            if req.prior is not None:
                found = live_objects(data, self.lineage, req.address)
                if found:
                    obj = found[0]
                    attrs = {**obj["attributes"], **_public(req.planned)}
                    for attr in RESOURCE_TYPES[req.type].computed:
                        attrs[attr] = obj["attributes"].get(attr)
                    if req.type == "scw_server":
                        attrs["state"] = "running" if attrs.get("power_on", True) else "stopped"
                    obj["attributes"] = attrs
                    _log(data, "update", req.address)
                    self.calls.append(("update", req.address))
                    return ApplyResponse(attributes=attrs)
            found = self._adoptable(data, req)
            if found:  # appeared meanwhile: adopt
                _log(data, "adopt", req.address)
                return ApplyResponse(attributes=dict(found[0]["attributes"]))
            generation = sum(1 for o in data["objects"].values() if o["address"] == req.address)
            seed = f"{self.lineage}/{req.address}/{generation}"
            attrs = {**_public(req.planned), **computed_outputs(req.type, req.planned, seed)}
            data["seq"] += 1
            user_tags = req.planned.get("tags")
            tags = list(ctx.tags) + ([str(t) for t in user_tags]
                                     if isinstance(user_tags, list) else [])
            data["objects"][f"obj-{data['seq']:06d}"] = {
                "address": req.address, "type": req.type, "tags": tags,
                "attributes": attrs, "deleted": False, "pid": os.getpid(),
            }
            _log(data, "create", req.address)
            self.calls.append(("create", req.address))
            return ApplyResponse(attributes=attrs)

    def delete(self, req: DeleteRequest, ctx: ApplyContext) -> DeleteResponse:
        self._record("delete", req.address)
        self.operations.append(("delete", req.address, getattr(ctx, "operation", "")))
        if _matches(req.address, self.settings.fail_delete):
            raise ProviderError("injected delete failure (settings.fail_delete)",
                                address=req.address, hint="remove it from fail_delete")
        with self.store.transaction() as data:
            found = live_objects(data, self.lineage, req.address)
            if len(found) > 1 and req.prior.get("id"):  # create-then-delete: the old one only
                found = [o for o in found if o["attributes"].get("id") == req.prior["id"]]
            for obj in found:
                obj["deleted"] = True
            _log(data, "deleted", req.address)
        return DeleteResponse()

    def handoff_types(self) -> frozenset[str]:
        return frozenset({"scw_server"})

    def handoff(self, req: HandoffRequest) -> HandoffResponse:
        """One `test_server` per record, read back from the store (gone: ProviderError)."""
        data = self.store.snapshot() if self.store.path is not None else None
        out = []
        for r in req.records:
            attrs = dict(r.attributes)
            if data is not None:
                objs = live_objects(data, self.lineage, r.address)
                if not objs:
                    raise ProviderError("the server no longer exists", address=r.address)
                attrs = dict(objs[0]["attributes"])
            out.append(IacResource(type="test_server", name=r.name, address=r.address,
                                   arguments={"name": attrs.get("name")},
                                   import_id=str(attrs.get("id"))))
        return HandoffResponse(required_providers={"test": {"source": "example/test"}},
                               resources=tuple(out))

    def close(self) -> None:
        return None

    # --- helpers --------------------------------------------------------------------------

    def _type(self, type_name: str, address: str) -> ResourceType:
        try:
            return RESOURCE_TYPES[type_name]
        except KeyError:
            raise ProviderError(f"unknown resource type {type_name!r}", address=address,
                                hint=f"use one of {', '.join(RESOURCE_TYPES)}") from None

    def _adoptable(self, data: Data, req: ApplyRequest) -> list[Data]:
        """Live objects with this address's tags whose force-new attributes match the plan.

        (An older generation kept by create-then-delete differs there and is not adopted.)
        """
        force_new = RESOURCE_TYPES[req.type].force_new
        return [o for o in live_objects(data, self.lineage, req.address)
                if all(o["attributes"].get(k) == req.planned[k]
                       for k in force_new if k in req.planned)]

    def _record(self, verb: str, address: str) -> None:
        self.calls.append((verb, address))
        with self.store.transaction() as data:
            _log(data, verb, address)

    def _inject_failures(self, address: str) -> None:
        if _matches(address, self.settings.fail):
            raise ProviderError("injected failure (settings.fail)", address=address,
                                hint="remove the address from the test provider's fail list")
        glob = _matches(address, self.settings.transient_failures)
        if glob is None:
            return
        with self.store.transaction() as data:
            seen = int(data["counters"].get(address, 0))
            fail = seen < self.settings.transient_failures[glob]
            if fail:
                data["counters"][address] = seen + 1
        if fail:
            raise TransientError(f"injected transient failure {seen + 1}", address=address,
                                 retry_after=self.settings.retry_after)

    def _work(self, req: ApplyRequest, ctx: ApplyContext) -> None:
        """Pretend to work: wait, report progress, save checkpoints, honour cancellation."""
        glob = _matches(req.address, self.settings.slow)
        seconds = self.settings.delay + (self.settings.slow[glob] if glob else 0.0)
        steps = self.settings.progress_steps
        start = int((req.checkpoint or {}).get("step", 0))
        if steps <= 0:
            if seconds > 0 and ctx.cancelled.wait(seconds):
                raise ProviderError("cancelled", address=req.address)
            return
        for step in range(start, steps):
            if seconds > 0 and ctx.cancelled.wait(seconds / steps):
                raise ProviderError("cancelled; resumes from the checkpoint",
                                    address=req.address)
            ctx.progress("copy", done=(step + 1) * CHUNK, total=steps * CHUNK)
            ctx.checkpoint({"step": step + 1})


def _public(attrs: Attrs) -> Attrs:
    sensitive = next(iter(RESOURCE_TYPES.values())).sensitive
    return {k: v for k, v in attrs.items() if k not in sensitive}


def _log(data: Data, verb: str, address: str) -> None:
    data["calls"].append({"op": verb, "address": address, "pid": os.getpid()})


def _facts(spec: VMSpec) -> VMFacts:
    extra: dict[str, Any] = dict(spec.model_extra or {})
    disks = tuple(
        DiskFacts(
            key=d.key,
            label=d.label or f"Hard disk {i + 1}",
            capacity_bytes=d.capacity_bytes,
            file=f"[datastore1] {spec.name}/{spec.name}{'_' + str(i) if i else ''}.vmdk",
            datastore="datastore1",
            controller=d.controller,
        )
        for i, d in enumerate(spec.disks)
    )
    return VMFacts(
        name=spec.name,
        instance_uuid=extra.pop("instance_uuid", f"uuid-{spec.name}"),
        moref=extra.pop("moref", f"vm-{digest(spec.name)[:6]}"),
        num_cpus=spec.num_cpus,
        memory_mb=spec.memory_mb,
        disks=disks,
        change_version=spec.change_version,
        datastores=("datastore1",),
        **extra,
    )
