"""The resource types the `scaleway` provider manages: their attributes and schema."""

from __future__ import annotations

from vmware2scw.provider import ResourceType

RESOURCE_TYPES: dict[str, ResourceType] = {
    "s3_object": ResourceType(
        name="s3_object", transient=True, kind="upload", stage="upload", size_attribute="size",
        attributes=frozenset({"source_path", "source_sha256", "bucket", "key", "region"}),
        force_new=frozenset({"source_sha256", "bucket", "key", "region"}),
        computed=frozenset({"etag", "size", "sha256", "upload_id"}),
    ),
    "scw_snapshot": ResourceType(
        name="scw_snapshot", kind="api", stage="import",
        attributes=frozenset({"name", "zone", "bucket", "key", "size_bytes", "tags"}),
        force_new=frozenset({"zone", "bucket", "key", "size_bytes"}),
        computed=frozenset({"id", "status", "size"}),
    ),
    "scw_image": ResourceType(
        name="scw_image", kind="api", stage="image",
        attributes=frozenset({"name", "zone", "arch", "root_snapshot_id", "extra_snapshot_ids",
                              "tags"}),
        force_new=frozenset({"zone", "arch", "root_snapshot_id", "extra_snapshot_ids"}),
        computed=frozenset({"id", "state"}),
    ),
    "scw_server": ResourceType(
        name="scw_server", kind="api", stage="server",
        summary_attributes=("id", "name", "commercial_type", "state", "public_ip_address",
                            "monthly_price", "verify_tcp"),
        attributes=frozenset({"name", "zone", "commercial_type", "image_id", "boot_volume_ids",
                              "tags",
                              "security_group", "public_ip", "private_networks", "power_on",
                              "verify_tcp", "source_cpus", "source_memory_mb", "volume_type"}),
        force_new=frozenset({"zone", "image_id", "boot_volume_ids", "security_group",
                             "public_ip",
                             "private_networks"}),
        computed=frozenset({"id", "state", "public_ip_address", "private_ips", "volume_ids",
                            "monthly_price"}),
    ),
    "scw_volume": ResourceType(
        name="scw_volume", kind="api", stage="volume",
        attributes=frozenset({"name", "zone", "size_bytes", "volume_type", "tags"}),
        force_new=frozenset({"zone", "size_bytes", "volume_type"}),
        computed=frozenset({"id", "status"}),
    ),
    "volume_attachment": ResourceType(
        name="volume_attachment", transient=True, kind="attach", stage="attach",
        attributes=frozenset({"volume_id", "zone", "host_server_id", "chosen_by"}),
        force_new=frozenset({"volume_id", "zone"}),
        computed=frozenset({"server_id", "device_path"}),
    ),
}
