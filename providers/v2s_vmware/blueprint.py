"""The source role's part of a blueprint: one snapshot, then one disk export per disk."""

from __future__ import annotations

from typing import Any

from vmware2scw.config.interpolate import literal
from vmware2scw.provider import ComposeRequest, ComposeResponse, Handoff, ResourceSpec

# built from checked facts: construct without re-validating (8,000 per plan of 1,000 VMs)
_spec = ResourceSpec.model_construct
_response = ComposeResponse.model_construct
_handoff = Handoff.model_construct

PHASES = ("export",)


def compose_export(req: ComposeRequest) -> ComposeResponse:
    """``vmware_snapshot`` + ``disk_export[k]``; hands each disk's path and sha256 on."""
    vm = req.vm
    cutover = req.migration.get("cutover") or {}
    power_off = bool(cutover.get("power_off_source", False))
    vm_name = literal(vm.name)  # facts are text, never templates
    snap = f"{req.module}.vmware_snapshot"
    specs = [_spec(address=snap, type="vmware_snapshot", attributes={
        "vm": vm_name,
        "vm_uuid": literal(vm.instance_uuid),
        "name": f"v2s-{req.lineage[:8]}",
        "quiesce": vm.power_state == "poweredOn"
        and vm.tools_status in ("toolsOk", "toolsOld") and not power_off,
        "power_off_source": power_off,
    })]
    disks: list[dict[str, Any]] = []
    for k, disk in enumerate(vm.disks):
        addr = f"{req.module}.disk_export[{k}]"
        specs.append(_spec(address=addr, type="disk_export", depends_on=(snap,),
                                  attributes=disk_attributes(req, k, snap)))
        disks.append({"address": addr, "path": "${" + addr + ".path}",
                      "sha256": "${" + addr + ".sha256}", "capacity_bytes": disk.capacity_bytes})
    exports = tuple(str(d["address"]) for d in disks)
    return _response(resources=tuple(specs),
                           handoff=_handoff(disks=tuple(disks), after=exports))


def disk_attributes(req: ComposeRequest, k: int, snap: str) -> dict[str, Any]:
    """What a reader of disk ``k`` needs: the disk's identity and the snapshot freezing it."""
    disk = req.vm.disks[k]
    return {"vm": literal(req.vm.name), "disk_key": disk.key, "disk_index": k,
            "disk_file": literal(disk.file), "datastore": literal(disk.datastore),
            "capacity_bytes": disk.capacity_bytes, "snapshot": "${" + snap + ".snapshot_moref}"}
