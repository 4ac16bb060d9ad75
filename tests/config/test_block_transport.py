"""``transport: block`` composes volumes, attachments, syncs, in-place conversion, server."""

from __future__ import annotations

from tests.config.helpers import GIB, PROVIDERS, expand_text, vm

CONFIG = "v2s: 1\n" + PROVIDERS + """
migrations:
  web-01:
    transport: block
    source: { vm: web-01 }
    target: { type: PRO2-S, zone: fr-par-2 }
"""


def test_block_transport_composes_volumes_syncs_and_a_server_from_volumes() -> None:
    res = expand_text(CONFIG, vm("web-01", disks=2)).resources
    m = "migration.web-01"
    assert {r.type for r in res.values()} == {
        "scw_volume", "volume_attachment", "vmware_snapshot", "disk_sync",
        "guest_conversion", "scw_server"}  # no export file, qcow2, object, snapshot or image
    for k in range(2):
        vol, att, sync = res[f"{m}.scw_volume[{k}]"], res[f"{m}.volume_attachment[{k}]"], \
            res[f"{m}.disk_sync[{k}]"]
        assert not vol.transient and att.transient  # the volume is kept, its attachment not
        assert vol.attributes["size_bytes"] == 12_000_000_000  # 10.74 GB + 0.27 GB, whole GB
        assert vol.attributes["zone"] == att.attributes["zone"] == "fr-par-2"
        assert att.attributes["volume_id"] == f"${{{m}.scw_volume[{k}].id}}"
        assert sync.attributes["device_path"] == f"${{{m}.volume_attachment[{k}].device_path}}"
        assert {f"{m}.vmware_snapshot", f"{m}.volume_attachment[{k}]"} <= sync.depends_on
    conv = res[f"{m}.guest_conversion"]
    assert conv.attributes["devices"] == [
        f"${{{m}.volume_attachment[{k}].device_path}}" for k in range(2)]
    assert {f"{m}.disk_sync[0]", f"{m}.disk_sync[1]"} <= conv.depends_on
    server = res[f"{m}.scw_server"]
    assert "image_id" not in server.attributes
    assert server.attributes["boot_volume_ids"] == [
        f"${{{m}.scw_volume[{k}].id}}" for k in range(2)]
    assert f"{m}.guest_conversion" in server.depends_on


def test_default_transport_is_still_s3_import() -> None:
    res = expand_text(CONFIG.replace("    transport: block\n", ""),
                      vm("web-01")).resources
    assert "migration.web-01.scw_image" in res and "migration.web-01.scw_volume[0]" not in res


def test_volume_is_sized_for_the_disk_plus_the_esp() -> None:
    res = expand_text(CONFIG, vm("web-01")).resources
    size = res["migration.web-01.scw_volume[0]"].attributes["size_bytes"]
    assert size >= 10 * GIB + 130 * (1 << 20) and size % 1_000_000_000 == 0
