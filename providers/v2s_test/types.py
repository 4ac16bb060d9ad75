"""The resource types the test provider serves: the real providers' schemas."""

from __future__ import annotations

import hashlib
from typing import Any

from v2s_qemu.inplace import GUEST_CONVERSION
from v2s_qemu.types import RESOURCE_TYPES as QEMU_TYPES
from v2s_scaleway.types import RESOURCE_TYPES as SCALEWAY_TYPES
from v2s_vmware.types import RESOURCE_TYPES as VMWARE_TYPES

from vmware2scw.provider import ResourceType

SENSITIVE = frozenset({"secret"})  # an input the engine must never persist (tests use it)

RESOURCE_TYPES: dict[str, ResourceType] = {
    name: rt.model_copy(update={"sensitive": SENSITIVE})
    for name, rt in {**VMWARE_TYPES, **QEMU_TYPES, "guest_conversion": GUEST_CONVERSION,
                      **SCALEWAY_TYPES}.items()
}  # the real providers' schemas: plans made with the test provider are the real plans


def digest(*parts: object) -> str:
    """A stable hex digest of the parts."""
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()


def computed_outputs(type_name: str, planned: dict[str, Any], seed: str) -> dict[str, Any]:
    """Deterministic computed attributes of a created object (`seed` names the object)."""
    h = digest(seed)
    uid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    size = int(planned.get("capacity_bytes") or planned.get("size_bytes") or 10 * 2**30)
    by_type: dict[str, dict[str, Any]] = {
        "vmware_snapshot": {
            "snapshot_moref": f"snapshot-{h[:6]}",
            "vm_moref": f"vm-{digest(planned.get('vm'))[:6]}",
            "prior_power_state": "poweredOn",
            "created_at": "2026-01-01T00:00:00Z",
        },
        "disk_export": {
            "path": f"/exports/{h[:16]}.raw",
            "size": size,
            "sha256": digest("disk", seed),
            "allocated_bytes": size // 2,
        },
        "qcow2_artifact": {
            "path": f"/artifacts/{h[:16]}.qcow2",
            "size": 2**30,
            "virtual_size": 10 * 2**30,
            "sha256": digest("qcow2", seed),
            "format": "qcow2",
            "changes": ["test: nothing changed"],
        },
        "s3_object": {
            "etag": f'"{h[:32]}-3"',
            "size": 2**30,
            "sha256": planned.get("source_sha256") or digest("object", seed),
            "upload_id": f"upload-{h[:12]}",
        },
        "disk_sync": {"sha256": digest("disk", seed), "bytes_read": size // 2,
                      "range_sha256": [digest("range", seed)]},
        "guest_conversion": {"firmware_after": "efi", "changes": ["test: nothing changed"]},
        "scw_volume": {"id": uid, "status": "available"},
        "volume_attachment": {"server_id": "host", "device_path":
                              f"/dev/disk/by-id/scsi-0SCW_sbs_volume-{uid}"},
        "scw_snapshot": {"id": uid, "status": "available", "size": size},
        "scw_image": {"id": uid, "state": "available"},
        "scw_server": {
            "id": uid,
            "state": "running" if planned.get("power_on", True) else "stopped",
            "public_ip_address": f"51.15.{int(h[:2], 16)}.{int(h[2:4], 16)}",
            "private_ips": [],
            "volume_ids": [uid],
            "monthly_price": 42.0,
        },
    }
    out = dict(by_type.get(type_name, {}))
    for name in RESOURCE_TYPES[type_name].computed if type_name in RESOURCE_TYPES else ():
        out.setdefault(name, f"{name}-{h[:12]}")
    return out
