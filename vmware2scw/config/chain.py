"""One migration instance + its VM's facts -> the resource chain of docs/resources.md."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from vmware2scw.addresses import Address
from vmware2scw.config.interpolate import literal
from vmware2scw.config.model import MigrationConfig
from vmware2scw.provider import VMFacts

GB = 1_000_000_000
TRANSIENT_TYPES = frozenset({"vmware_snapshot", "disk_export", "qcow2_artifact", "s3_object"})
SOURCE_TYPES = frozenset({"vmware_snapshot", "disk_export"})
PROVIDER_OF = {
    "vmware_snapshot": "vmware",
    "disk_export": "vmware",
    "qcow2_artifact": "qemu",
    "s3_object": "scaleway",
    "scw_snapshot": "scaleway",
    "scw_image": "scaleway",
    "scw_server": "scaleway",
}
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "vmware_snapshot": (
        "vm",
        "vm_uuid",
        "name",
        "quiesce",
        "power_off_source",
        "snapshot_moref",
        "vm_moref",
        "prior_power_state",
        "created_at",
    ),
    "disk_export": (
        "vm",
        "disk_key",
        "disk_index",
        "disk_file",
        "datastore",
        "capacity_bytes",
        "snapshot",
        "path",
        "size",
        "sha256",
        "allocated_bytes",
    ),
    "qcow2_artifact": (
        "vm",
        "disk_index",
        "disks",
        "disk_sha256",
        "guest_family",
        "firmware",
        "network",
        "compress",
        "verify_boot",
        "path",
        "size",
        "virtual_size",
        "sha256",
        "format",
        "changes",
    ),
    "s3_object": (
        "source_path",
        "source_sha256",
        "bucket",
        "key",
        "region",
        "etag",
        "size",
        "sha256",
        "upload_id",
    ),
    "scw_snapshot": ("name", "zone", "bucket", "key", "size_bytes", "tags", "id", "status", "size"),
    "scw_image": (
        "name",
        "zone",
        "arch",
        "root_snapshot_id",
        "extra_snapshot_ids",
        "tags",
        "id",
        "state",
    ),
    "scw_server": (
        "name",
        "zone",
        "commercial_type",
        "image_id",
        "tags",
        "security_group",
        "public_ip",
        "private_networks",
        "power_on",
        "verify_tcp",
        "source_cpus",
        "source_memory_mb",
        "volume_type",
        "id",
        "state",
        "public_ip_address",
        "private_ips",
        "volume_ids",
        "monthly_price",
    ),
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_ZONE_SUFFIX = re.compile(r"-\d+\Z")


def sanitize(name: str) -> str:
    """A VM name made safe for object keys, file names and Scaleway names."""
    cleaned = _UNSAFE.sub("-", name).strip("-.") or "vm"
    return cleaned[:63]


def region_of(zone: str) -> str:
    """``fr-par-1`` -> ``fr-par``."""
    return _ZONE_SUFFIX.sub("", zone)


@dataclass(frozen=True)
class Spec:
    """One resource before it becomes a DesiredResource."""

    address: str
    type: str
    provider: str
    attributes: dict[str, Any]
    chain: tuple[str, ...]  # chain predecessors


@dataclass(frozen=True)
class Instance:
    """One migration instance: a name, an optional wildcard key and its VM."""

    name: str
    key: str | None
    vm: VMFacts
    mig: MigrationConfig

    @property
    def label(self) -> str:
        """Path-safe instance name for object keys: ``web-01`` or ``app/app-03``."""
        return self.name if self.key is None else f"{self.name}/{sanitize(self.key)}"

    @cached_property
    def instance(self) -> str:
        """``web-01`` or ``app["app-03"]`` (the DesiredResource.migration value)."""
        return Address(self.name, self.key).instance

    @cached_property
    def module(self) -> str:
        """``migration.web-01``: the prefix of every address of this instance."""
        return "migration." + self.instance

    def addr(self, type_: str, index: int | None = None) -> str:
        """The address of one resource of this instance."""
        return f"{self.module}.{type_}" if index is None else f"{self.module}.{type_}[{index}]"

    def ref(self, type_: str, attr: str, index: int | None = None) -> str:
        """A ``${address.attr}`` template pointing at one resource of this instance."""
        return "${" + self.addr(type_, index) + "." + attr + "}"


def build_chain(
    inst: Instance, *, lineage: str, source_provider: str, bucket: str, private_networks: list[str]
) -> list[Spec]:
    """The resources of one migration instance, in chain order."""
    vm, mig, tgt = inst.vm, inst.mig, inst.mig.target
    lineage8 = lineage[:8]
    disks = list(vm.disks)
    n = len(disks)
    name = tgt.name if tgt.name is not None else sanitize(vm.name)
    vm_name = literal(vm.name)  # facts are text, never templates
    zone = tgt.zone
    snap = inst.addr("vmware_snapshot")
    specs = [
        Spec(
            snap,
            "vmware_snapshot",
            source_provider,
            {
                "vm": vm_name,
                "vm_uuid": literal(vm.instance_uuid),
                "name": f"v2s-{lineage8}",
                "quiesce": vm.power_state == "poweredOn"
                and vm.tools_status in ("toolsOk", "toolsOld")
                and not mig.cutover.power_off_source,
                "power_off_source": mig.cutover.power_off_source,
            },
            (),
        )
    ]
    exports = [inst.addr("disk_export", k) for k in range(n)]
    for k, disk in enumerate(disks):
        specs.append(
            Spec(
                exports[k],
                "disk_export",
                source_provider,
                {
                    "vm": vm_name,
                    "disk_key": disk.key,
                    "disk_index": k,
                    "disk_file": literal(disk.file),
                    "datastore": literal(disk.datastore),
                    "capacity_bytes": disk.capacity_bytes,
                    "snapshot": inst.ref("vmware_snapshot", "snapshot_moref"),
                },
                (snap,),
            )
        )
    all_paths = [inst.ref("disk_export", "path", i) for i in range(n)]
    for k in range(n):
        specs.append(
            Spec(
                inst.addr("qcow2_artifact", k),
                "qcow2_artifact",
                "qemu",
                {
                    "vm": vm_name,
                    "disk_index": k,
                    "disks": list(all_paths),
                    "disk_sha256": inst.ref("disk_export", "sha256", k),
                    "guest_family": literal(vm.guest_family),
                    "firmware": literal(vm.firmware),
                    "network": mig.convert.network,
                    "compress": mig.convert.compress,
                    "verify_boot": mig.verify.boot,
                },
                tuple(exports),
            )
        )
    region = region_of(zone)
    for k, disk in enumerate(disks):
        specs.append(
            Spec(
                inst.addr("s3_object", k),
                "s3_object",
                "scaleway",
                {
                    "source_path": inst.ref("qcow2_artifact", "path", k),
                    "source_sha256": inst.ref("qcow2_artifact", "sha256", k),
                    "bucket": bucket,
                    "key": f"{lineage8}/{inst.label}/disk{k}.qcow2",
                    "region": region,
                },
                (inst.addr("qcow2_artifact", k),),
            )
        )
        specs.append(
            Spec(
                inst.addr("scw_snapshot", k),
                "scw_snapshot",
                "scaleway",
                {
                    "name": f"{name}-disk{k}",
                    "zone": zone,
                    "bucket": bucket,
                    "key": inst.ref("s3_object", "key", k),
                    "size_bytes": max(GB, math.ceil(disk.capacity_bytes / GB) * GB),
                    "tags": list(tgt.tags),
                },
                (inst.addr("s3_object", k),),
            )
        )
    snapshots = tuple(inst.addr("scw_snapshot", k) for k in range(n))
    image = inst.addr("scw_image")
    specs.append(
        Spec(
            image,
            "scw_image",
            "scaleway",
            {
                "name": f"{name}-image",
                "zone": zone,
                "arch": "x86_64",
                "root_snapshot_id": inst.ref("scw_snapshot", "id", 0),
                "extra_snapshot_ids": [inst.ref("scw_snapshot", "id", k) for k in range(1, n)],
                "tags": list(tgt.tags),
            },
            snapshots,
        )
    )
    specs.append(
        Spec(
            inst.addr("scw_server"),
            "scw_server",
            "scaleway",
            {
                "name": name,
                "zone": zone,
                "commercial_type": tgt.type,
                "image_id": inst.ref("scw_image", "id"),
                "tags": list(tgt.tags),
                "security_group": tgt.security_group,
                "public_ip": tgt.public_ip,
                "private_networks": private_networks,
                "power_on": True,
                "verify_tcp": list(mig.verify.tcp),
                "source_cpus": vm.num_cpus,
                "source_memory_mb": vm.memory_mb,
                "volume_type": tgt.volume_type,
            },
            (image,),
        )
    )
    return specs
