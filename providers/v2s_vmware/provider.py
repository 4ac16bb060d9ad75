"""``VMwareProvider``: protocol verbs for ``vmware_snapshot`` and ``disk_export``, inventory.

Failure contracts (vmware2scw.provider): ``apply`` of a snapshot leaves either no snapshot
or one named ``v2s-<lineage8>`` tagged in its description, adopted by the next run; an
export keeps its completed chunks in the checkpoint; ``delete`` raises while the object
still exists.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from v2s_vmware import areas, cutover, export, snapshot, starter
from v2s_vmware._vmomi import vmodl
from v2s_vmware.blueprint import PHASES, compose_export
from v2s_vmware.blueprint_sync import compose_sync
from v2s_vmware.inventory import datacenters, inventory
from v2s_vmware.session import Session
from v2s_vmware.settings import VMwareSettings, resolve
from v2s_vmware.types import EXPORT_OUT, RESOURCE_TYPES, SNAPSHOT_OUT, SYNC_OUT
from v2s_vmware.validate import Checks, validate
from vmware2scw.diagnostics import Diagnostic, warning
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
    InventoryRequest,
    InventoryResponse,
    PlanRequest,
    PlanResponse,
    ReadRequest,
    ReadResponse,
    ResourceType,
    VMFacts,
)


class VMwareProvider:
    """The source side of a migration (entry point ``vmware``)."""

    name = "vmware"
    settings_model = VMwareSettings
    roles = frozenset({"source"})

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._settings: VMwareSettings | None = None
        self._session: Session | None = None
        self._facts: dict[str, VMFacts] = {}
        self._datacenters: dict[str, set[str]] | None = None
        self._lock = threading.Lock()
        self.lineage = ""
        self.export_stats: dict[str, export.ExportStats] = {}  # by address, for tests/reports

    # --- set-up ------------------------------------------------------------------------------

    def blueprints(self) -> tuple[Blueprint, ...]:
        return ()

    def compose(self, req: ComposeRequest) -> ComposeResponse:
        """The source step (phase ``export``): snapshot and disk exports."""
        if req.phase == "sync":
            return compose_sync(req)
        if req.phase not in PHASES:
            raise ProviderError(f"the vmware provider cannot compose phase {req.phase!r}")
        return compose_export(req)

    def starter_yaml(self, vms: Sequence[VMFacts],
                     catalogue: Mapping[str, Mapping[str, Any]] | None) -> str:
        """A starter ``migrations:`` block for `v2s inventory --yaml`."""
        return starter.starter_yaml(vms, catalogue)

    def resource_types(self) -> Mapping[str, ResourceType]:
        return RESOURCE_TYPES

    def configure(self, req: ConfigureRequest) -> ConfigureResponse:
        self._settings = resolve(req.settings, self._environ)
        self._session = Session(self._settings)
        self.lineage = req.lineage
        diags: list[Diagnostic] = []
        if self._settings.insecure and not self._settings.thumbprint:
            diags.append(warning("vCenter TLS certificate checks are off (insecure: true)",
                                 "pin the certificate with `thumbprint` or give `ca_file` "
                                 "instead; anyone on the path could read the credentials."))
        return ConfigureResponse(diagnostics=tuple(diags))

    @property
    def settings(self) -> VMwareSettings:
        if self._settings is None:
            raise ProviderError("the vmware provider is used before configure()")
        return self._settings

    @property
    def session(self) -> Session:
        if self._session is None:
            raise ProviderError("the vmware provider is used before configure()")
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    # --- inventory ---------------------------------------------------------------------------

    def inventory(self, req: InventoryRequest) -> InventoryResponse:
        """Every VM matching the patterns, in one PropertyCollector retrieval."""
        vms = inventory(self.session, req.patterns)
        diags: list[Diagnostic] = []
        seen: dict[str, int] = {}
        for vm in vms:
            seen[vm.name] = seen.get(vm.name, 0) + 1
        with self._lock:
            self._facts.update({vm.name: vm for vm in vms})
        for name, count in sorted(seen.items()):
            if count > 1:
                diags.append(warning(f"{count} VMs are named {name!r}",
                                     "v2s names VMs by name: rename them, or pin one with "
                                     "`source: {vm_uuid: ...}`."))
        return InventoryResponse(vms=tuple(vms), diagnostics=tuple(diags))

    def facts(self, vm: str) -> VMFacts | None:
        """Cached facts of a VM by name (from the last inventory or read)."""
        with self._lock:
            return self._facts.get(vm)

    # --- read --------------------------------------------------------------------------------

    def read(self, req: ReadRequest) -> ReadResponse:
        out: dict[str, Attrs | None] = {}
        snaps = [r for r in req.resources if r.type == "vmware_snapshot"]
        if snaps:
            names = tuple(sorted({str(r.attributes.get("vm", "")) for r in snaps}))
            wanted = {str(r.attributes.get("vm_moref", "")) for r in snaps}
            by_moref = {vm.moref: vm for vm in self.inventory(InventoryRequest(
                patterns=names)).vms}
            if not wanted <= by_moref.keys():  # renamed VMs: look at every VM (one retrieval)
                by_moref = {vm.moref: vm for vm in self.inventory(InventoryRequest()).vms}
            for r in snaps:
                vm = by_moref.get(str(r.attributes.get("vm_moref", "")))
                present = vm is not None and r.attributes.get("name") in vm.snapshots
                out[r.address] = dict(r.attributes) if present else None
        for r in req.resources:
            if r.type == "disk_export":
                path = Path(str(r.attributes.get("path") or "/nonexistent"))
                ok = path.is_file() and path.stat().st_size == r.attributes.get("size")
                out[r.address] = dict(r.attributes) if ok else None
        return ReadResponse(attributes=out)

    # --- plan --------------------------------------------------------------------------------

    def plan(self, req: PlanRequest) -> PlanResponse:
        if req.type not in RESOURCE_TYPES:
            raise ProviderError(f"the vmware provider has no resource type {req.type!r}",
                                address=req.address)
        outs = {"vmware_snapshot": SNAPSHOT_OUT, "disk_sync": SYNC_OUT}.get(req.type, EXPORT_OUT)
        planned = dict(req.desired)
        unknown: tuple[str, ...] = tuple(sorted(outs))
        if req.prior is not None and not req.desired_unknown:  # replaces: the planner's call
            planned.update({k: req.prior[k] for k in outs if k in req.prior})
            unknown = tuple(sorted(k for k in outs if k not in req.prior))
        diags: list[Diagnostic] = []
        if req.type == "vmware_snapshot":
            facts = self.facts(str(req.desired.get("vm", "")))
            if facts is not None:
                diags = validate(facts, self._checks(req.desired), address=req.address)
        return PlanResponse(planned=planned, unknown=unknown, diagnostics=tuple(diags))

    def _checks(self, desired: Attrs) -> Checks:
        s = self.settings
        return Checks(
            own_snapshot=str(desired.get("name", "")),
            power_off_source=bool(desired.get("power_off_source")),
            bios_to_uefi=s.bios_to_uefi, max_disk_bytes=s.max_disk_bytes,
            supported_families=s.supported_families, warn_families=s.warn_families,
            target_type=str(desired.get("target_type") or ""),
            target_cpus=desired.get("target_cpus"),
            target_memory_mb=desired.get("target_memory_mb"),
        )

    # --- apply / delete ----------------------------------------------------------------------

    def apply(self, req: ApplyRequest, ctx: ApplyContext) -> ApplyResponse:
        if req.type == "vmware_snapshot":
            return ApplyResponse(attributes=self._apply_snapshot(req, ctx))
        if req.type == "disk_export":
            return ApplyResponse(attributes=self._apply_export(req, ctx))
        if req.type == "disk_sync":
            return ApplyResponse(attributes=self._apply_sync(req, ctx))
        raise ProviderError(f"the vmware provider has no resource type {req.type!r}",
                            address=req.address)

    def delete(self, req: DeleteRequest, ctx: ApplyContext) -> DeleteResponse:
        if req.type == "vmware_snapshot":
            self._delete_snapshot(req, ctx)
        elif req.type == "disk_export":
            for p in {str(req.prior.get("path") or ""), str(ctx.work_dir / _raw_name(req.prior))}:
                if p:
                    Path(p).unlink(missing_ok=True)
        return DeleteResponse()

    def _locate(self, planned: Attrs, address: str) -> Any:
        name, uuid = str(planned.get("vm", "")), str(planned.get("vm_uuid") or "")
        facts = self.facts(name)
        if facts is None or (uuid and facts.instance_uuid != uuid):
            self.inventory(InventoryRequest(patterns=(name,)))
            facts = self.facts(name)
        vm = snapshot.find_vm(self.session, moref=facts.moref if facts else "", uuid=uuid,
                              name=name)
        if vm is None:
            raise ProviderError(f"source VM {name!r} not found in vCenter", address=address,
                                hint="check `source.vm`; run `v2s inventory` to list VMs")
        return vm

    def _apply_snapshot(self, req: ApplyRequest, ctx: ApplyContext) -> Attrs:
        p, a, cp = req.planned, req.address, dict(req.checkpoint or {})
        vm = self._locate(p, a)
        s = self.session
        if "prior_power_state" not in cp:
            cp = {"vm_moref": vm._moId, "prior_power_state": cutover.power_state(s, vm)}
            ctx.checkpoint(cp)
        if p.get("power_off_source"):
            ctx.progress("power-off", message="shutting the source VM down")
            cutover.power_off(s, vm, timeout_s=self.settings.shutdown_timeout_s, address=a,
                              cancelled=ctx.cancelled)
        name = str(p["name"])
        node = snapshot.find_snapshot(snapshot.snapshot_nodes(s, vm), name=name)
        if node is not None:
            moref, created = str(node.snapshot._moId), snapshot.created_at(node)
        else:
            ctx.progress("snapshot", message=f"creating snapshot {name}")
            desc = "created by v2s; " + "; ".join(ctx.tags)
            moref, created = snapshot.create(s, vm, name=name, description=desc,
                                             quiesce=bool(p.get("quiesce")), address=a,
                                             cancelled=ctx.cancelled)
        return {**p, "snapshot_moref": moref, "vm_moref": str(vm._moId),
                "prior_power_state": cp["prior_power_state"], "created_at": created}

    def _delete_snapshot(self, req: DeleteRequest, ctx: ApplyContext) -> None:
        prior, a, s = req.prior, req.address, self.session
        moref = str(prior.get("vm_moref") or (req.checkpoint or {}).get("vm_moref") or "")
        if not moref:
            return
        vm = snapshot.vm_ref(s, moref)
        try:
            nodes = snapshot.snapshot_nodes(s, vm)
        except vmodl.fault.ManagedObjectNotFound:
            return  # the VM is gone, and its snapshots with it
        node = snapshot.find_snapshot(nodes, moref=str(prior.get("snapshot_moref") or ""),
                                      name=str(prior.get("name") or ""))
        if node is not None:
            snapshot.remove(s, node.snapshot, address=a, cancelled=ctx.cancelled)
        if prior.get("power_off_source") and ctx.operation == "destroy":
            cutover.restore(s, vm, str(prior.get("prior_power_state") or ""), address=a,
                            cancelled=ctx.cancelled)

    def _dc_path(self, datastore: str, address: str) -> str:
        """The datacenter (``dcPath``) holding a datastore: the setting, or the only match."""
        if self.settings.datacenter:
            return self.settings.datacenter
        with self._lock:
            known = self._datacenters
        if known is None:
            known = datacenters(self.session)
            with self._lock:
                self._datacenters = known
        matches = sorted(path for path, stores in known.items() if datastore in stores)
        if len(matches) != 1:
            where = ", ".join(matches) or "no datacenter"
            raise ProviderError(f"datastore {datastore!r} is in {where}", address=address,
                                hint="set `datacenter` in the vmware provider settings")
        return matches[0]

    def _check_snapshot(self, planned: Attrs, address: str) -> Any | None:
        """A running VM is copied only while its v2s snapshot freezes the base disk; the VM."""
        moref, name = str(planned.get("snapshot") or ""), str(planned.get("vm", ""))
        if not moref:
            return None
        facts = self.facts(name)
        if facts is None:  # e.g. a saved plan applied by a fresh process
            self.inventory(InventoryRequest(patterns=(name,)))
            facts = self.facts(name)
        if facts is None:
            raise ProviderError(f"source VM {name!r} not found in vCenter", address=address,
                                hint="check `source.vm`; run `v2s inventory` to list VMs")
        vm = snapshot.vm_ref(self.session, facts.moref)
        nodes = snapshot.snapshot_nodes(self.session, vm)
        if snapshot.find_snapshot(nodes, moref=moref) is None:
            raise ProviderError(
                f"snapshot {moref} of VM {facts.name!r} is gone: the base disk is no longer "
                "frozen", address=address,
                hint="run `v2s plan` again: the snapshot will be recreated before the export")
        return vm

    def _apply_sync(self, req: ApplyRequest, ctx: ApplyContext) -> Attrs:
        """The disk written straight onto the attached volume's device (no local copy)."""
        p, a = req.planned, req.address
        dev = Path(str(p["device_path"]))
        try:
            with dev.open("rb") as f:
                room = f.seek(0, os.SEEK_END)  # a block device has no st_size
        except OSError as exc:
            raise ProviderError(f"device {dev} of volume {p.get('volume_id')} cannot be "
                                f"opened: {exc.strerror}", address=a,
                                hint="check the volume is attached to this host") from None
        if room < int(p["capacity_bytes"]):
            raise ProviderError(f"device {dev} holds {room} bytes, less than the disk's "
                                f"{p['capacity_bytes']}", address=a)
        stats = self._copy(req, ctx, dev, device=True)
        return {**p, "sha256": stats.sha256, "bytes_read": stats.fetched_bytes,
                "range_sha256": stats.range_sha256}

    def _apply_export(self, req: ApplyRequest, ctx: ApplyContext) -> Attrs:
        out = ctx.work_dir / _raw_name(req.planned)
        stats = self._copy(req, ctx, out, device=False)
        digest = stats.sha256 or export.file_sha256(out, ctx.cancelled)
        return {**req.planned, "path": str(out), "size": int(req.planned["capacity_bytes"]),
                "sha256": digest, "allocated_bytes": export.allocated_bytes(out)}

    def _copy(self, req: ApplyRequest, ctx: ApplyContext, out: Path, *, device: bool
              ) -> export.ExportStats:
        """Allocated areas of the snapshot's disk into ``out``, resumable by chunk."""
        p, a, s, cfg = req.planned, req.address, self.session, self.settings
        size = int(p["capacity_bytes"])
        chunk = cfg.chunk_mb << 20
        reader = export.DatastoreReader(lambda: s.http(pool=cfg.parallel_chunks), s.relogin,
                                        cfg.timeout_s, a)
        base = cfg.base_url
        vm = self._check_snapshot(p, a)
        disk_file, spans = str(p["disk_file"]), None
        if vm is not None:  # the base disk as the snapshot froze it, and its allocated areas
            snap = areas.snapshot_ref(s, str(p["snapshot"]))
            frozen = areas.snapshot_disk(s, snap, int(p["disk_key"]), a)
            disk_file = frozen.file
            if frozen.change_id:
                found = areas.allocated_areas(s, vm, snap, int(p["disk_key"]), size)
                spans = None if found is None else areas.chunk_spans(found, size, chunk)
        ds_name = export.parse_disk_file(disk_file)[0]
        dc = self._dc_path(ds_name, a)
        ds, extent = export.resolve_extent(reader, base, dc, disk_file)
        key = {"extent": f"[{ds}] {extent}", "size": size, "chunk": chunk,
               "snapshot": p.get("snapshot")}
        cp = dict(req.checkpoint or {})
        resume = {k: cp.get(k) for k in key} == key and (device or out.is_file())
        done = export.ranges_to_set(cp.get("done", [])) if resume else set()
        # a device written under another checkpoint may hold stale data: rewrite it whole
        fresh = resume or not cp if device else None
        if device and not fresh:
            spans = None
        if not resume and not device:
            out.unlink(missing_ok=True)
        total_chunks = (size + chunk - 1) // chunk
        last = [0.0]

        def on_chunk(_i: int, _stats: export.ExportStats) -> None:
            ctx.progress("export", min(size, len(done) * chunk), size)
            now = time.monotonic()
            if now - last[0] >= cfg.checkpoint_every_s or len(done) == total_chunks:
                last[0] = now
                ctx.checkpoint({**key, "done": export.set_to_ranges(done)})

        facts = self.facts(str(p.get("vm", "")))
        host = facts.host if facts is not None and facts.host else "vcenter"
        url = export.folder_url(base, extent, dc, ds)
        with export.LIMITS.slots(host, cfg.exports_per_host, ds, cfg.exports_per_datastore):
            ctx.progress("export", len(done) * chunk if done else 0, size,
                         message=f"resuming, {len(done)}/{total_chunks} chunks done" if done
                         else "")
            try:
                stats = export.fetch_chunks(reader, url, out, size=size, chunk=chunk,
                                            parallel=cfg.parallel_chunks, done=done,
                                            on_chunk=on_chunk, cancelled=ctx.cancelled,
                                            areas=spans, device=device, fresh=fresh)
            finally:
                ctx.checkpoint({**key, "done": export.set_to_ranges(done)})
        stats.cbt = spans is not None
        self.export_stats[a] = stats
        if len(done) != total_chunks:
            raise TransientError(f"copy interrupted with {len(done)}/{total_chunks} chunks "
                                 "done; the checkpoint keeps them", address=a)
        if device and not stats.sha256:  # every chunk was done before: hash what is there
            stats = export.ExportStats(cbt=stats.cbt)
            stats.sha256 = export.file_sha256(out, ctx.cancelled, size)
        return stats


def _raw_name(attrs: Attrs) -> str:
    return f"disk{int(attrs.get('disk_index', 0))}.raw"
