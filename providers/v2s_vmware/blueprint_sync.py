"""The source role's part of the ``block`` transport: the snapshot, then a ``disk_sync`` per
disk writing the snapshot's allocated areas onto the attached Block volume's device."""

from __future__ import annotations

from typing import Any

from vmware2scw.provider import ComposeRequest, ComposeResponse, Handoff, ResourceSpec

from .blueprint import compose_export, disk_attributes


def compose_sync(req: ComposeRequest) -> ComposeResponse:
    """``vmware_snapshot`` + ``disk_sync[k]`` onto each upstream device path."""
    snap_spec = compose_export(req).resources[0]  # the same snapshot as the export path
    snap = snap_spec.address
    specs = [snap_spec]
    disks: list[dict[str, Any]] = []
    for k, up in enumerate(req.upstream.disks):
        addr = f"{req.module}.disk_sync[{k}]"
        specs.append(ResourceSpec(address=addr, type="disk_sync",
                                  depends_on=(snap, str(up["address"])), attributes={
            **disk_attributes(req, k, snap),
            "device_path": up["path"],
            "volume_id": up["volume_id"],
        }))  # fmt: skip
        disks.append({**up, "address": addr, "sha256": "${" + addr + ".sha256}"})
    return ComposeResponse(resources=tuple(specs), handoff=Handoff(
        disks=tuple(disks), after=tuple(str(d["address"]) for d in disks)))
