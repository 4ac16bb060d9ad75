"""Contract: Block volumes, hot-plug on servers and migration hosts, through the real SDK.

Each test names the Scaleway document it follows; where the docs give no error text,
the simulator's chosen body is asserted as documented in docs/lab-scaleway-simulator.md.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import requests
from scaleway import ScalewayException
from scaleway.block.v1 import (
    BlockV1API,
    CreateVolumeRequestFromEmpty,
    CreateVolumeRequestFromSnapshot,
)
from scaleway.instance.v1 import InstanceV1API, VolumeServerTemplate
from scaleway.instance.v1.custom_api import InstanceUtilsV1API

from tests.lab.boots import GuestBoots
from tests.lab.scwsim import Simulator
from tests.lab.scwsim.hosts import DEVICE_DIR_ENV, METADATA_ENV, Host, device_name
from tests.lab.throttle import paced_copy

from .efi_disk import MARKER, build_boot_disk, build_data_disk

GB = 1_000_000_000


def _volume(sim: Simulator, size: int = GB, zone: str = "fr-par-1", iops: int = 5000) -> str:
    block = BlockV1API(sim.client())
    vol = block.create_volume(zone=zone, name="data", perf_iops=iops,
                              from_empty=CreateVolumeRequestFromEmpty(size=size))  # fmt: skip
    sim.advance(1)
    return vol.id


def _attach(sim: Simulator, server_id: str, volume_id: str, wait: bool = True) -> Any:
    """Attach through the SDK; ``wait``: let the device link appear (udev's delay)."""
    inst = InstanceV1API(sim.client())
    zone = sim.store.servers[server_id]["zone"]
    srv = inst.attach_server_volume(server_id=server_id, volume_id=volume_id, zone=zone,
                                    volume_type="sbs_volume").server  # fmt: skip
    if wait:
        sim.advance(sim.timings.device_attach)
    return srv


def _error(exc: pytest.ExceptionInfo[ScalewayException]) -> tuple[int, dict[str, Any]]:
    return exc.value.status_code, exc.value.response.json()


def _metadata(host: Host) -> dict[str, Any]:
    with urllib.request.urlopen(host.metadata_url + "/conf?format=json", timeout=5) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "application/json"
        return json.loads(r.read())  # type: ignore[no-any-return]


# -- Block volumes ----------------------------------------------------------------
def test_empty_volume_states_sizes_and_iops_classes(manual_sim: Simulator) -> None:
    """Block API reference, CreateVolume: ``from_empty.size`` 1 GB - 10 TB, perf_iops
    5000 (sbs_5k) or 15000 (sbs_15k); recording block-create-volume.json: creating, then
    available."""
    sim = manual_sim
    block = BlockV1API(sim.client())
    vol = block.create_volume(name="v", perf_iops=15000,
                              from_empty=CreateVolumeRequestFromEmpty(size=5 * GB))  # fmt: skip
    assert (vol.status, vol.type_, vol.size, vol.parent_snapshot_id) == (
        "creating", "sbs_15k", 5 * GB, None)
    sim.advance(1)
    assert block.get_volume(volume_id=vol.id).status == "available"
    data = sim.store.data_path[vol.id]
    assert data.stat().st_size == 5 * GB and data.stat().st_blocks == 0  # sparse zeros
    for size in (GB - 1, 10_001 * GB, GB + 1):
        with pytest.raises(ScalewayException) as exc:
            block.create_volume(from_empty=CreateVolumeRequestFromEmpty(size=size))
        status, body = _error(exc)
        assert status == 400 and body["type"] == "invalid_arguments"
        assert body["details"][0]["argument_name"] == "from_empty.size"
    with pytest.raises(ScalewayException) as exc:
        block.create_volume(perf_iops=7000, from_empty=CreateVolumeRequestFromEmpty(size=GB))
    assert _error(exc)[1]["details"][0]["argument_name"] == "perf_iops"


def test_snapshot_is_a_point_in_time_copy(manual_sim: Simulator) -> None:
    """Block API reference, CreateSnapshot (volume ``in_use`` or ``available``) and
    CreateVolume ``from_snapshot``: the new volume holds the bytes of snapshot time."""
    sim = manual_sim
    host = sim.create_host()
    vid = _volume(sim)
    _attach(sim, host.server_id, vid)
    dev = host.device_path(vid)
    with dev.open("r+b") as f:
        f.seek(4096)
        f.write(b"before-snapshot")
    block = BlockV1API(sim.client())
    snap = block.create_snapshot(volume_id=vid, public=False, name="s1")
    assert (snap.status, snap.parent_volume.status) == ("creating", "in_use")
    with dev.open("r+b") as f:  # the guest keeps writing after the snapshot
        f.seek(4096)
        f.write(b"after--snapshot")
    sim.advance(2)
    assert block.get_snapshot(snapshot_id=snap.id).status == "available"
    clone = block.create_volume(name="c", from_snapshot=CreateVolumeRequestFromSnapshot(
        snapshot_id=snap.id, size=2 * GB))  # fmt: skip
    sim.advance(1)
    assert (clone.size, clone.parent_snapshot_id) == (2 * GB, snap.id)
    _attach(sim, host.server_id, clone.id)
    with host.device_path(clone.id).open("rb") as f:  # flattened to raw for the host
        f.seek(4096)
        assert f.read(15) == b"before-snapshot"
    assert os.path.getsize(host.device_path(clone.id)) == 2 * GB


# -- hot-plug ---------------------------------------------------------------------
def test_attach_and_detach_on_a_running_server(manual_sim: Simulator) -> None:
    """Instance API attach-volume / detach-volume; docs "Attaching a Block Storage volume
    via the Instance API" (hot-plug) and "Identifying devices" (by-id name)."""
    sim = manual_sim
    host = sim.create_host()
    vid = _volume(sim)
    srv = _attach(sim, host.server_id, vid, wait=False)
    assert srv.state == "running"
    dev = host.device_dir / f"scsi-0SCW_sbs_volume-{vid}"
    assert not dev.exists()  # udev has not made the link yet: callers wait for it
    sim.advance(sim.timings.device_attach)
    assert {k: (v.id, v.volume_type) for k, v in srv.volumes.items()}["1"] == (
        vid, "sbs_volume")
    block = BlockV1API(sim.client())
    vol = block.get_volume(volume_id=vid)
    assert vol.status == "in_use"
    (ref,) = vol.references
    assert (ref.product_resource_type, ref.product_resource_id, ref.type_, ref.status) == (
        "instance_server", host.server_id, "exclusive", "attached")
    assert dev.exists() and os.path.getsize(dev) == GB
    with pytest.raises(ScalewayException) as exc:  # one server at a time
        _attach(sim, sim.create_host("other").server_id, vid)
    assert _error(exc)[0] == 400
    inst = InstanceV1API(sim.client())
    srv = inst.detach_server_volume(server_id=host.server_id, volume_id=vid).server
    assert set(srv.volumes) == {"0"}
    vol = block.get_volume(volume_id=vid)
    assert (vol.status, vol.references) == ("available", [])
    assert vol.last_detached_at is not None
    assert not dev.exists()
    with pytest.raises(ScalewayException) as exc:
        inst.detach_server_volume(server_id=host.server_id, volume_id=vid)
    assert _error(exc)[0] == 400


def test_at_most_16_volumes_per_server_root_included(sim: Simulator) -> None:
    """Block Storage FAQ: "A virtual Instance can bear up to 16 volumes, including the
    mandatory local volume"; "How to attach a Block Storage volume": up to 15."""
    host = sim.create_host()
    for _ in range(15):
        srv = _attach(sim, host.server_id, _volume(sim))
    assert sorted(srv.volumes, key=int) == [str(i) for i in range(16)]
    assert len(list(host.device_dir.iterdir())) == 16
    extra = _volume(sim)
    with pytest.raises(ScalewayException) as exc:
        _attach(sim, host.server_id, extra)
    status, body = _error(exc)
    assert status == 400 and body["type"] == "invalid_request_error"
    assert "16 volumes" in body["message"]
    assert BlockV1API(sim.client()).get_volume(volume_id=extra).status == "available"


def test_volume_of_another_zone_is_not_found(sim: Simulator) -> None:
    """Block Storage API intro / "How to attach": volume and Instance in the same
    Availability Zone; a zoned API does not see another zone's volume (404 as recorded
    for SBS ids on the Instance API, instance-error-not-found.json)."""
    host = sim.create_host(zone="fr-par-1")
    vid = _volume(sim, zone="fr-par-2")
    with pytest.raises(ScalewayException) as exc:
        _attach(sim, host.server_id, vid)
    status, body = _error(exc)
    assert status == 404
    assert body == {"type": "not_found", "message": "resource is not found",
                    "resource": "instance_volume", "resource_id": vid}  # fmt: skip
    assert [p.name for p in host.device_dir.iterdir()] == [device_name(host_root(sim, host))]
    with pytest.raises(ScalewayException) as exc:  # nor for a new server (exchange 3 shape)
        InstanceUtilsV1API(sim.client()).create_server(
            commercial_type="PRO2-S", name="x", dynamic_ip_required=False,
            volumes={"0": VolumeServerTemplate(id=vid, volume_type="sbs_volume", boot=False)},
        )  # fmt: skip
    assert _error(exc) == (404, body)


def host_root(sim: Simulator, host: Host) -> str:
    """The id of the host's own root volume (it shows in its device dir too)."""
    return str(sim.store.servers[host.server_id]["volumes"]["0"])


def test_hotplug_refused_while_the_server_changes_state(manual_sim: Simulator) -> None:
    """Instance API: volumes change on a running or stopped Instance; 400
    invalid_request_error "server is being stopped or rebooted" otherwise (the text the
    API gave for attachments during a stop, hashicorp/terraform#9473)."""
    sim = manual_sim
    host = sim.create_host()
    InstanceV1API(sim.client()).server_action(server_id=host.server_id, action="poweroff")
    with pytest.raises(ScalewayException) as exc:
        _attach(sim, host.server_id, _volume(sim))
    assert _error(exc) == (400, {"type": "invalid_request_error",
                                 "message": "server is being stopped or rebooted"})  # fmt: skip


def test_patch_volumes_hotplugs_like_the_docs(sim: Simulator) -> None:
    """Docs "Attaching a Block Storage volume via the Instance API": PATCH the server's
    ``volumes`` map with the new volume; "Detaching ...": PATCH it without."""
    host = sim.create_host()
    root, vid = host_root(sim, host), _volume(sim)
    inst = InstanceUtilsV1API(sim.client())
    two = {"0": VolumeServerTemplate(id=root, volume_type="sbs_volume"),
           "1": VolumeServerTemplate(id=vid, volume_type="sbs_volume")}  # fmt: skip
    srv = inst._update_server(server_id=host.server_id, volumes=two).server
    sim.advance(sim.timings.device_attach)
    assert srv.volumes["1"].id == vid and host.device_path(vid).exists()
    srv = inst._update_server(server_id=host.server_id, volumes={"0": two["0"]}).server
    assert set(srv.volumes) == {"0"} and not host.device_path(vid).exists()


# -- migration hosts --------------------------------------------------------------
def test_metadata_service_answers_as_documented(sim: Simulator) -> None:
    """``GET http://169.254.42.42/conf?format=json`` inside an Instance: the fields of
    scaleway-sdk-go's ``instance.Metadata`` (id, name, hostname, commercial_type, zone,
    volumes, ...), live: an attached volume shows at once."""
    host = sim.create_host("mig-host-1", zone="fr-par-2", commercial_type="POP2-2C-8G")
    assert host.env == {METADATA_ENV: host.metadata_url, DEVICE_DIR_ENV: str(host.device_dir)}
    meta = _metadata(host)
    assert (meta["id"], meta["name"], meta["hostname"]) == (host.server_id, "mig-host-1",
                                                             "mig-host-1")  # fmt: skip
    assert (meta["zone"], meta["commercial_type"], meta["state"]) == (
        "fr-par-2", "POP2-2C-8G", "running")
    assert meta["project"] == meta["organization"] == sim.account.project_id
    assert meta["location"]["zone_id"] == "fr-par-2"
    assert set(meta["volumes"]) == {"0"}
    vid = _volume(sim, zone="fr-par-2")
    _attach(sim, host.server_id, vid)
    vol = _metadata(host)["volumes"]["1"]
    assert (vol["id"], vol["volume_type"], vol["size"], vol["server"]["id"]) == (
        vid, "sbs_volume", GB, host.server_id)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(host.metadata_url + "/conf", timeout=5)
    assert err.value.code == 404


def test_several_hosts_each_see_their_own_devices(sim: Simulator) -> None:
    """One host per worker process: separate metadata endpoints and device dirs."""
    a, b = sim.create_host("worker-a"), sim.create_host("worker-b")
    assert a.metadata_url != b.metadata_url and a.device_dir != b.device_dir
    vid = _volume(sim)
    _attach(sim, a.server_id, vid)
    assert a.device_path(vid).exists() and not b.device_path(vid).exists()
    assert _metadata(a)["id"] == a.server_id and _metadata(b)["id"] == b.server_id
    assert sim.hosts.all() == [a, b]
    auth = {"X-Auth-Token": sim.account.secret_key}
    made = requests.post(sim.url + "/_sim/hosts", json={"name": "worker-c"}, headers=auth,
                         timeout=5).json()  # fmt: skip
    c = sim.hosts.get(made["server_id"])
    assert c is not None and made["env"] == c.env and _metadata(c)["name"] == "worker-c"
    listed = requests.get(sim.url + "/_sim/hosts", headers=auth, timeout=5).json()["hosts"]
    assert [h["server_id"] for h in listed] == [a.server_id, b.server_id, c.server_id]


def test_a_volume_moved_between_hosts_before_its_link_appears(manual_sim: Simulator) -> None:
    """Detach from one host and attach to another within udev's delay: the link shows
    only on the second host."""
    sim = manual_sim
    a, b = sim.create_host("worker-a"), sim.create_host("worker-b")
    vid = _volume(sim)
    _attach(sim, a.server_id, vid, wait=False)
    InstanceV1API(sim.client()).detach_server_volume(server_id=a.server_id, volume_id=vid)
    _attach(sim, b.server_id, vid, wait=False)
    sim.advance(sim.timings.device_attach)
    assert b.device_path(vid).exists() and not a.device_path(vid).exists()


def test_terminating_a_host_removes_its_devices(manual_sim: Simulator) -> None:
    """Instance API terminate: Block volumes are detached and kept (recordings)."""
    sim = manual_sim
    host = sim.create_host()
    vid = _volume(sim)
    _attach(sim, host.server_id, vid)
    InstanceV1API(sim.client()).server_action(server_id=host.server_id, action="terminate")
    sim.advance(10)
    assert list(host.device_dir.iterdir()) == []
    assert BlockV1API(sim.client()).get_volume(volume_id=vid).status == "available"
    with pytest.raises(urllib.error.HTTPError) as err:
        _metadata(host)
    assert err.value.code == 404


# -- the Block transport's path, end to end (one TCG boot) ----------------------------
@pytest.mark.timeout(300)
def test_volume_written_on_a_host_boots_as_a_server_with_all_its_volumes(
    s3_server: Any, tmp_path: Path
) -> None:
    """Empty volumes -> attach to the host -> write through the device paths -> detach ->
    a server from the existing volume ids, no image (recording
    instance-create-server-sbs-from-snapshot.json, exchange 3) -> poweron -> the lab's
    boot hook boots it under OVMF + virtio-scsi with every volume, in index order."""
    boot_img, data_img = build_boot_disk(tmp_path), build_data_disk(tmp_path, "v2s-data-ok")
    boots = GuestBoots(tmp_path / "boots", ports=(), memory_mb=256, timeout=240).start()
    try:
        with Simulator(s3_endpoint=s3_server.endpoint_url, speed=50,
                       boot_hook=boots.hook) as sim:  # fmt: skip
            host = sim.create_host()
            root, data = _volume(sim), _volume(sim)
            for vid, img in ((root, boot_img), (data, data_img)):
                _attach(sim, host.server_id, vid)
                assert paced_copy(img, host.device_path(vid)) > 0
                InstanceV1API(sim.client()).detach_server_volume(server_id=host.server_id,
                                                                  volume_id=vid)  # fmt: skip
            inst = InstanceUtilsV1API(sim.client())
            srv = inst.create_server(
                commercial_type="PRO2-S", name="from-volumes", dynamic_ip_required=False,
                volumes={
                    "0": VolumeServerTemplate(id=root, volume_type="sbs_volume", boot=False),
                    "1": VolumeServerTemplate(id=data, volume_type="sbs_volume", boot=False),
                },
            ).server  # fmt: skip
            assert srv.image is None and [srv.volumes[k].id for k in ("0", "1")] == [root, data]
            inst.server_action(server_id=srv.id, action="poweron")
            sim.advance(5)  # starting -> running (3 simulated seconds): the hook starts
            assert inst.get_server(server_id=srv.id).server.state == "running"
            sim.wait_workers(280)  # the boot hook's thread
            rec = sim.boot_results[srv.id]
            paths = [str(sim.store.data_path[v]) for v in (root, data)]
    finally:
        boots.close()
    assert rec.state == "up", (rec.reason, rec.console_tail)
    assert rec.disks == paths  # LUN 0 = volume "0", LUN 1 = volume "1"
    assert MARKER in rec.marker
    console = rec.console_tail
    assert "(hd0) (hd0,gpt1) (hd1)" in console  # both volumes attached
    assert "v2s-data-ok" in console  # the data volume's bytes, written on the host
