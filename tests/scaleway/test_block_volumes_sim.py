"""scw_volume, volume_attachment and scw_server from volumes against the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from v2s_scaleway.provider import ScalewayProvider

from tests.lab.s3 import MotoS3Server
from tests.lab.scwsim import Simulator
from tests.scaleway.conftest import LINEAGE, configure
from vmware2scw.errors import ProviderError
from vmware2scw.provider import ApplyRequest, DeleteRequest, ReadRequest, ResourceRef
from vmware2scw.testing import RecordingContext

pytestmark = pytest.mark.lab
GB = 1_000_000_000
M = "migration.blk"


def _apply(p: ScalewayProvider, addr: str, typ: str, planned: dict) -> dict:
    return p.apply(ApplyRequest(address=addr, type=typ, prior=None, planned=planned),
                   RecordingContext(addr, lineage=LINEAGE)).attributes


def _delete(p: ScalewayProvider, addr: str, typ: str, prior: dict) -> None:
    p.delete(DeleteRequest(address=addr, type=typ, prior=prior),
             RecordingContext(addr, lineage=LINEAGE))


def test_volume_attached_to_the_host_written_then_booted_as_a_server(
        sim: Simulator, s3_server: MotoS3Server, bucket: str, tmp_path: Path) -> None:
    host = sim.create_host("v2s-host", zone="fr-par-1")
    p = configure(sim, s3_server, bucket, tmp_path, environ=host.env)
    try:
        vol = _apply(p, f"{M}.scw_volume[0]", "scw_volume", {
            "name": "blk-disk0", "zone": "fr-par-1", "size_bytes": 2 * GB,
            "volume_type": "sbs_5k", "tags": []})
        again = _apply(p, f"{M}.scw_volume[0]", "scw_volume", {
            "name": "blk-disk0", "zone": "fr-par-1", "size_bytes": 2 * GB,
            "volume_type": "sbs_5k", "tags": []})
        assert again["id"] == vol["id"]  # adopted by its tags, not created twice
        att_addr = f"{M}.volume_attachment[0]"
        att = _apply(p, att_addr, "volume_attachment", {"volume_id": vol["id"],
                                                        "zone": "fr-par-1"})
        assert att["server_id"] == host.server_id
        assert att["device_path"] == str(host.device_path(vol["id"]))
        with open(att["device_path"], "r+b") as dev:
            dev.seek(GB)
            dev.write(b"written on the migration host")
        assert _apply(p, att_addr, "volume_attachment", {"volume_id": vol["id"],
                                                         "zone": "fr-par-1"}) == att
        ref = ResourceRef(address=att_addr, type="volume_attachment", attributes=att)
        assert p.read(ReadRequest(resources=(ref,))).attributes[att_addr] == att
        srv_addr = f"{M}.scw_server"
        srv = _apply(p, srv_addr, "scw_server", {
            "name": "blk", "zone": "fr-par-1", "commercial_type": "PRO2-S",
            "boot_volume_ids": [vol["id"]], "tags": [], "public_ip": False,
            "private_networks": [], "power_on": True, "verify_tcp": []})
        assert srv["volume_ids"] == [vol["id"]] and srv["state"] == "running"
        assert not Path(att["device_path"]).exists()  # detached from the host first
        assert p.read(ReadRequest(resources=(ref,))).attributes[att_addr] is None
        with open(str(sim.boot_info(srv["id"]).root_volume_path), "rb") as booted:
            booted.seek(GB)
            assert booted.read(29) == b"written on the migration host"  # the bytes it boots
        _delete(p, att_addr, "volume_attachment", att)  # cleanup after the fact: a no-op
        _delete(p, srv_addr, "scw_server", srv)
        assert vol["id"] in sim.store.volumes  # the server's delete leaves owned volumes
        _delete(p, f"{M}.scw_volume[0]", "scw_volume", vol)
        assert vol["id"] not in sim.store.volumes
    finally:
        p.close()


def test_attachment_off_a_scaleway_instance_is_refused(
        sim: Simulator, s3_server: MotoS3Server, bucket: str, tmp_path: Path) -> None:
    p = configure(sim, s3_server, bucket, tmp_path,  # nothing answers there
                  environ={"V2S_SCW_METADATA_URL": "http://127.0.0.1:9"})
    try:
        with pytest.raises(ProviderError, match="needs v2s to run on a Scaleway Instance"):
            _apply(p, f"{M}.volume_attachment[0]", "volume_attachment",
                   {"volume_id": "11111111-1111-4111-8111-111111111111", "zone": "fr-par-1"})
    finally:
        p.close()


def test_auto_transport_picks_block_on_a_migration_host_and_s3_import_elsewhere(
        sim: Simulator, s3_server: MotoS3Server, bucket: str, tmp_path: Path) -> None:
    host = sim.create_host("v2s-host", zone="fr-par-1")
    on_host = configure(sim, s3_server, bucket, tmp_path, environ=host.env)
    elsewhere = configure(sim, s3_server, bucket, tmp_path,
                          environ={"V2S_SCW_METADATA_URL": "http://127.0.0.1:9"})
    try:
        auto = next(b for b in on_host.blueprints() if b.transport == "auto")
        assert [s.phase for s in auto.steps] == ["volumes", "sync", "convert_in_place",
                                                 "launch"]
        assert host.server_id in auto.description and "fr-par-1" in auto.description
        auto = next(b for b in elsewhere.blueprints() if b.transport == "auto")
        assert [s.phase for s in auto.steps] == ["export", "convert", "import"]
        assert "s3_import" in auto.description
    finally:
        on_host.close()
        elsewhere.close()
