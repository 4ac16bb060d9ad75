"""The resource types the `vmware` provider manages and their desired-attribute models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from vmware2scw.provider import ResourceType


class SnapshotConfig(BaseModel):
    """Desired attributes of ``vmware_snapshot`` (docs/resources.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    vm: str
    vm_uuid: str = ""
    name: str
    quiesce: bool = False
    power_off_source: bool = False
    # optional, for plan-time checks against the target (the engine may pass them)
    target_type: str = ""
    target_cpus: int | None = None
    target_memory_mb: int | None = None


class DiskExportConfig(BaseModel):
    """Desired attributes of ``disk_export`` (docs/resources.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    vm: str
    disk_key: int
    disk_index: int
    disk_file: str
    datastore: str
    capacity_bytes: int
    snapshot: str | None = None


class DiskSyncConfig(DiskExportConfig):
    """Desired attributes of ``disk_sync``: a disk written onto an attached device."""

    device_path: str
    volume_id: str


SNAPSHOT_OUT = frozenset({"snapshot_moref", "vm_moref", "prior_power_state", "created_at"})
EXPORT_OUT = frozenset({"path", "size", "sha256", "allocated_bytes"})
SYNC_OUT = frozenset({"sha256", "bytes_read", "range_sha256"})

RESOURCE_TYPES: dict[str, ResourceType] = {
    "vmware_snapshot": ResourceType(
        name="vmware_snapshot",
        transient=True,
        kind="api",
        force_new=frozenset({"vm", "vm_uuid", "name", "quiesce", "power_off_source"}),
        computed=SNAPSHOT_OUT,
        delete_tombstone_on_destroy=True,  # destroy powers a cold-cutover source back on
        config_model=SnapshotConfig,
        stage="snapshot",
    ),
    "disk_export": ResourceType(
        name="disk_export",
        transient=True,
        kind="export",
        force_new=frozenset({"vm", "disk_key", "disk_index", "disk_file", "datastore",
                             "capacity_bytes", "snapshot"}),
        computed=EXPORT_OUT,
        config_model=DiskExportConfig,
        stage="export",
        size_attribute="allocated_bytes",
    ),
    "disk_sync": ResourceType(
        name="disk_sync",
        kind="export",
        force_new=frozenset({"vm", "disk_key", "disk_index", "disk_file", "datastore",
                             "capacity_bytes", "snapshot", "volume_id"}),
        computed=SYNC_OUT,
        config_model=DiskSyncConfig,
        stage="export",
        size_attribute="bytes_read",
    ),
}
