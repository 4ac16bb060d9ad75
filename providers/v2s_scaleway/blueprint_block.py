"""The ``block`` transport (DESIGN §10), target side: Block volumes on the migration host.

Steps: target ``volumes`` (an empty volume per disk, attached to the migration host),
source ``sync`` (the disk written onto the attached device), converter
``convert_in_place`` (the guest converted on the devices), target ``launch`` (the server
made from the volumes). ``mode: warm`` is refused until it exists.
"""

from __future__ import annotations

import math
from typing import Any

from vmware2scw.provider import (
    Blueprint,
    BlueprintStep,
    ComposeRequest,
    ComposeResponse,
    ConfigProblem,
    Handoff,
    ResourceSpec,
)

GB = 1_000_000_000
MAX_ATTACHED = 15  # Block volumes hot-plugged to one Instance besides its root volume
ESP_ROOM = 256 << 20  # a BIOS->UEFI conversion adds ~130 MiB (BIOS boot + ESP partitions)
BLOCK_STEPS = (BlueprintStep(role="target", phase="volumes"),
               BlueprintStep(role="source", phase="sync"),
               BlueprintStep(role="converter", phase="convert_in_place"),
               BlueprintStep(role="target", phase="launch"))
BLOCK = Blueprint(
    transport="block", mode="cold", steps=BLOCK_STEPS,
    description="empty Block volumes attached to the migration host, disks written onto "
                "them from the snapshot, guest converted in place, server from the volumes",
)
WARM = tuple(
    Blueprint(transport=t, mode="warm", steps=(BlueprintStep(role="target", phase="refuse_warm"),),
              description="refused: mode warm is not yet supported")
    for t in ("block", "s3_import"))


def _ref(addr: str, attr: str) -> str:
    return "${" + addr + "." + attr + "}"


def volume_size(capacity_bytes: int) -> int:
    """Bytes of the Block volume for a disk: the disk plus the ESP room, in whole GB."""
    return max(GB, math.ceil((capacity_bytes + ESP_ROOM) / GB) * GB)


def compose_refuse_warm(req: ComposeRequest) -> ComposeResponse:
    """``mode: warm`` is refused with the reason, never silently run cold."""
    if req.blueprint.transport == "s3_import":
        why = ("mode: warm needs transport: block (s3_import copies every byte inside the "
               "downtime); besides, mode: warm is not yet supported: use mode: cold")
    else:
        why = ("mode: warm is not yet supported (delta generations come with issue 13's "
               "second part); use mode: cold")
    return ComposeResponse(problems=(ConfigProblem(path=("mode",), message=why),))


def compose_volumes(req: ComposeRequest) -> ComposeResponse:
    """Per disk a kept ``scw_volume`` and a transient ``volume_attachment`` to the host."""
    target: dict[str, Any] = req.migration.get("target") or {}
    disks = req.vm.disks
    if len(disks) > MAX_ATTACHED:
        return ComposeResponse(problems=(ConfigProblem(path=("source", "vm"), message=(
            f"VM {req.vm.name!r} has {len(disks)} disks, more than the {MAX_ATTACHED} Block "
            "volumes one migration host can have attached; use transport: s3_import for it")),))
    zone = str(target.get("zone", "fr-par-1"))
    name = str(target.get("name") or req.vm.name)
    specs: list[ResourceSpec] = []
    out: list[dict[str, Any]] = []
    for k, disk in enumerate(disks):
        vol, att = f"{req.module}.scw_volume[{k}]", f"{req.module}.volume_attachment[{k}]"
        specs.append(ResourceSpec(address=vol, type="scw_volume", attributes={
            "name": f"{name}-disk{k}",
            "zone": zone,
            "size_bytes": volume_size(disk.capacity_bytes),
            "volume_type": target.get("volume_type", "sbs_5k"),
            "tags": list(target.get("tags") or []),
        }))  # fmt: skip
        specs.append(ResourceSpec(address=att, type="volume_attachment", depends_on=(vol,),
                                  attributes={"volume_id": _ref(vol, "id"), "zone": zone}))
        out.append({"address": att, "attachment": att, "path": _ref(att, "device_path"),
                    "volume_id": _ref(vol, "id"), "volume": vol,
                    "capacity_bytes": disk.capacity_bytes})
    return ComposeResponse(resources=tuple(specs), handoff=Handoff(
        disks=tuple(out), after=tuple(str(d["address"]) for d in out)))


def auto_blueprint(host: Any) -> Blueprint:
    """``transport: auto``: ``block`` when v2s runs on an Instance (``host``), else s3_import."""
    if host is not None:
        return BLOCK.model_copy(update={"transport": "auto", "description": (
            f"auto chose block: v2s runs on Instance {host.server_id} in {host.zone} "
            "(metadata service)")})
    from .blueprint import BLUEPRINTS  # the s3_import steps

    return BLUEPRINTS[0].model_copy(update={"transport": "auto", "description": (
        "auto chose s3_import: no Scaleway metadata service answered (v2s is not on an "
        "Instance)")})


def chosen_host(req: ComposeRequest, resp: ComposeResponse, host: Any) -> ComposeResponse:
    """Under ``auto``, each attachment names the host it was chosen for (the plan shows it);
    a target in another zone than the host is refused (volumes attach in their zone only)."""
    zone = str((req.migration.get("target") or {}).get("zone", "fr-par-1"))
    if zone != host.zone:
        return ComposeResponse(problems=(ConfigProblem(path=("transport",), message=(
            f"transport auto chose block (v2s runs on Instance {host.server_id} in "
            f"{host.zone}), but target.zone is {zone}: Block volumes attach only in their "
            "own zone; set transport: s3_import, or run v2s in that zone")),))
    specs = tuple(
        s.model_copy(update={"attributes": {**s.attributes, "host_server_id": host.server_id,
                                            "chosen_by": "transport auto"}})
        if s.type == "volume_attachment" else s for s in resp.resources)
    return resp.model_copy(update={"resources": specs})
