"""The resource type the `qemu` provider manages and its desired-attribute model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from vmware2scw.provider import ResourceType


class Qcow2ArtifactConfig(BaseModel):
    """Desired attributes of ``qcow2_artifact`` (docs/resources.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vm: str
    disk_index: int = Field(ge=0)
    disks: list[str | None]
    disk_sha256: str | None = None
    guest_family: str = "linux"
    firmware: str = "bios"
    network: str = "dhcp"
    compress: bool = False
    verify_boot: bool = False


FORCE_NEW = frozenset(
    {"vm", "disk_index", "disks", "disk_sha256", "guest_family", "firmware", "network",
     "compress", "verify_boot"}
)  # fmt: skip
COMPUTED = frozenset({"path", "size", "virtual_size", "sha256", "format", "changes"})
RESOURCE_TYPES = {
    "qcow2_artifact": ResourceType(
        name="qcow2_artifact",
        transient=True,
        kind="convert",
        force_new=FORCE_NEW,
        computed=COMPUTED,
        config_model=Qcow2ArtifactConfig,
        stage="convert",
        size_attribute="size",
        changes_attribute="changes",
    )
}
