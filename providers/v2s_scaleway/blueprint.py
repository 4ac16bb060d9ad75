"""The target role's blueprints and its part of them (``s3_import``: upload, import, launch).

Every blueprint of DESIGN §10 is a sequence of steps by role; the Scaleway target
offers them because the transport is how bytes reach Scaleway. The engine composes
each step through the provider bound to its role.
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
    ResourceSpec,
)

from . import names
from .blueprint_block import BLOCK, WARM, compose_refuse_warm, compose_volumes
from .settings import region_of

# built from checked facts: construct without re-validating (8,000 per plan of 1,000 VMs)
_spec = ResourceSpec.model_construct
_response = ComposeResponse.model_construct

GB = 1_000_000_000
IMPORT_LIMIT = 1_000_000_000_000  # one Block snapshot imported from Object Storage: 1 TB
BLUEPRINTS: tuple[Blueprint, ...] = (
    Blueprint(
        transport="s3_import", mode="cold",
        steps=(BlueprintStep(role="source", phase="export"),
               BlueprintStep(role="converter", phase="convert"),
               BlueprintStep(role="target", phase="import")),
        description="export to local disk, convert to qcow2, upload to Object Storage, "
                    "import Block snapshots, image, server",
    ),
    BLOCK,
    *WARM,
)  # fmt: skip


def _label(label: str, k: int) -> str:
    return f" ({label!r} in vCenter)" if label and label != f"disk {k}" else ""


def _ref(addr: str, attr: str) -> str:
    return "${" + addr + "." + attr + "}"


def _server_name(req: ComposeRequest, problems: list[ConfigProblem]) -> str | None:
    target = req.migration.get("target") or {}
    given = target.get("name")
    if given is not None and "${" in str(given):
        return str(given)  # known at plan time; the provider checks the resolved name
    if given is not None:
        why = names.problem(str(given), limit=names.SERVER_MAX, what="target.name")
        if why:
            problems.append(ConfigProblem(path=("target", "name"), message=why))
            return None
        return str(given)
    derived = names.from_vm_name(req.vm.name)
    if derived is None:
        problems.append(ConfigProblem(path=("source", "vm"), message=(
            f"VM name {req.vm.name!r} has no Latin-letter form for a Scaleway server name; "
            "set target.name (letters, digits, '.', ' ', '-')")))
        return None
    why = names.problem(derived, limit=names.SERVER_MAX,
                        what=f"the server name derived from VM {req.vm.name!r}")
    if why:
        problems.append(ConfigProblem(path=("source", "vm"), message=f"{why}; set target.name"))
        return None
    return derived


def _networks(req: ComposeRequest, problems: list[ConfigProblem]) -> list[str]:
    target = req.migration.get("target") or {}
    mapping: dict[str, str] = target.get("network_mapping") or {}
    networks: list[str] = []
    for nic in sorted(req.vm.nics, key=lambda n: n.mac.lower()):
        pn = mapping.get(nic.network)
        if pn is not None:
            networks.append(pn)
        elif not target.get("drop_unmapped_nics", False):
            problems.append(ConfigProblem(path=(), message=(
                f"{req.module}: NIC {nic.mac} of VM {req.vm.name!r} is on port group "
                f"{nic.network!r}, which target.network_mapping does not map; map it to a "
                "Private Network id or set target.drop_unmapped_nics: true")))
    return networks


def _server_basics(req: ComposeRequest, problems: list[ConfigProblem]
                   ) -> tuple[str | None, list[str]]:
    """The server's type check, name and Private Networks; problems collected."""
    if (req.migration.get("target") or {}).get("type") is None:
        problems.append(ConfigProblem(path=(), message=(
            f"migration {req.name!r} has no target.type (e.g. PRO2-S); set it here or under "
            "defaults.target")))
    return _server_name(req, problems), _networks(req, problems)


def compose_import(req: ComposeRequest) -> ComposeResponse:
    """Per disk an ``s3_object`` and a ``scw_snapshot``; then ``scw_image``, ``scw_server``."""
    problems: list[ConfigProblem] = []
    name, networks = _server_basics(req, problems)
    for k, disk in enumerate(req.vm.disks):
        if disk.capacity_bytes > IMPORT_LIMIT:
            problems.append(ConfigProblem(path=("source", "vm"), message=(
                f"disk {k} of VM {req.vm.name!r} is {disk.capacity_bytes / GB:,.0f} GB, over "
                f"the 1 TB ({IMPORT_LIMIT:,} bytes) that the s3_import transport imports per "
                f"Block snapshot{_label(disk.label, k)}; shrink the disk before migrating")))
    if problems or name is None:
        return _response(problems=tuple(problems))
    derived_names = [] if "${" in name else [(f"image name of {req.module}", f"{name}-image")] + [
        (f"snapshot name of disk {k}", f"{name}-disk{k}") for k in range(len(req.vm.disks))]
    for what, derived in derived_names:
        why = names.problem(derived, limit=names.OBJECT_MAX, what=what)
        if why:
            problems.append(ConfigProblem(path=("target", "name"), message=why))
    if problems:
        return _response(problems=tuple(problems))
    target: dict[str, Any] = req.migration.get("target") or {}
    zone = str(target.get("zone", "fr-par-1"))
    tags = list(target.get("tags") or [])
    bucket = req.settings.get("transit_bucket") or f"v2s-transit-{req.lineage[:8]}"
    specs: list[ResourceSpec] = []
    for k, (disk, up) in enumerate(zip(req.vm.disks, req.upstream.disks, strict=True)):
        obj, snap = f"{req.module}.s3_object[{k}]", f"{req.module}.scw_snapshot[{k}]"
        specs.append(_spec(address=obj, type="s3_object",
                                  depends_on=(up["address"], *req.upstream.after), attributes={
            "source_path": up["path"],
            "source_sha256": up["sha256"],
            "bucket": bucket,
            "key": f"{req.lineage[:8]}/{req.label}/disk{k}.qcow2",
            "region": region_of(zone),
        }))  # fmt: skip
        specs.append(_spec(address=snap, type="scw_snapshot", depends_on=(obj,),
                                  attributes={
            "name": f"{name}-disk{k}",
            "zone": zone,
            "bucket": bucket,
            "key": _ref(obj, "key"),
            "size_bytes": max(GB, math.ceil(disk.capacity_bytes / GB) * GB),
            "tags": list(tags),
        }))  # fmt: skip
    snapshots = tuple(f"{req.module}.scw_snapshot[{k}]" for k in range(len(req.vm.disks)))
    image = f"{req.module}.scw_image"
    specs.append(_spec(address=image, type="scw_image", depends_on=snapshots, attributes={
        "name": f"{name}-image",
        "zone": zone,
        "arch": "x86_64",
        "root_snapshot_id": _ref(snapshots[0], "id"),
        "extra_snapshot_ids": [_ref(s, "id") for s in snapshots[1:]],
        "tags": list(tags),
    }))  # fmt: skip
    specs.append(server_spec(req, name, networks, depends_on=(image,),
                             boot={"image_id": _ref(image, "id")}))
    return ComposeResponse(resources=tuple(specs))


def server_spec(req: ComposeRequest, name: str, networks: list[str], *,
                depends_on: tuple[str, ...], boot: dict[str, Any]) -> ResourceSpec:
    """The migration's ``scw_server``; ``boot`` says what it boots from (image or volumes)."""
    target: dict[str, Any] = req.migration.get("target") or {}
    verify = req.migration.get("verify") or {}
    return _spec(address=f"{req.module}.scw_server", type="scw_server",
                        depends_on=depends_on, attributes={
        "name": name,
        "zone": str(target.get("zone", "fr-par-1")),
        "commercial_type": target.get("type"),
        **boot,
        "tags": list(target.get("tags") or []),
        "security_group": target.get("security_group"),
        "public_ip": target.get("public_ip", True),
        "private_networks": networks,
        "power_on": True,
        "verify_tcp": list(verify.get("tcp") or []),
        "source_cpus": req.vm.num_cpus,
        "source_memory_mb": req.vm.memory_mb,
        "volume_type": target.get("volume_type", "sbs_5k"),
    })  # fmt: skip


def compose_launch(req: ComposeRequest) -> ComposeResponse:
    """``scw_server`` booting from the converted Block volumes (no image, no import)."""
    problems: list[ConfigProblem] = []
    name, networks = _server_basics(req, problems)
    if problems or name is None:
        return _response(problems=tuple(problems))
    volumes = tuple(str(d["volume"]) for d in req.upstream.disks)
    ids = ["${" + v + ".id}" for v in volumes]
    return _response(resources=(server_spec(
        req, name, networks, depends_on=(*req.upstream.after, *volumes),
        boot={"boot_volume_ids": ids}),))


COMPOSERS = {"import": compose_import, "volumes": compose_volumes, "launch": compose_launch,
             "refuse_warm": compose_refuse_warm}
PHASES = tuple(COMPOSERS)
