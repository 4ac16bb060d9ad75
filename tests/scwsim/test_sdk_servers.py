"""Contract: images, servers, actions, private NICs and listings through the real SDK."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests
from scaleway import ScalewayException, WaitForOptions
from scaleway.block.v1 import BlockV1API, CreateVolumeRequestFromEmpty
from scaleway.instance.v1 import VolumeServerTemplate
from scaleway.instance.v1.custom_api import InstanceUtilsV1API
from scaleway.ipam.v1 import IpamV1API

from tests.lab.scwsim import BootInfo, Simulator

FAST = WaitForOptions(timeout=30, min_delay=1, max_delay=1)
GB = 1_000_000_000


def _image(sim: Simulator, images, upload) -> str:  # type: ignore[no-untyped-def]
    """Import the valid qcow2 and make an image of it (the v2s chain up to scw_image)."""
    bucket, key = upload(images["valid"], "chain/disk0.qcow2")
    client = sim.client()
    block = BlockV1API(client)
    snap = block.import_snapshot_from_object_storage(bucket=bucket, key=key, name="disk0")
    sim.advance(60)
    sim.wait_workers()
    sim.advance(1)
    assert block.get_snapshot(snapshot_id=snap.id).status == "available"
    inst = InstanceUtilsV1API(client)
    return str(inst.create_image(root_volume=snap.id, arch="x86_64", name="web-01").image.id)


def _server(inst: InstanceUtilsV1API, image_id: str, name: str = "web-01", **kw):  # type: ignore[no-untyped-def]
    return inst.create_server(
        commercial_type=kw.pop("commercial_type", "PRO2-S"),
        name=name,
        image=image_id,
        volumes={"0": VolumeServerTemplate(volume_type="sbs_volume", size=20 * GB, boot=False)},
        dynamic_ip_required=kw.pop("dynamic_ip_required", False),
        **kw,
    ).server


def test_server_lifecycle_follows_recorded_states(manual_sim: Simulator, images, upload) -> None:  # type: ignore[no-untyped-def]
    sim = manual_sim
    booted: list[BootInfo] = []
    sim.boot_hook = booted.append
    image_id = _image(sim, images, upload)
    client = sim.client()
    inst, block = InstanceUtilsV1API(client), BlockV1API(client)
    srv = _server(inst, image_id, tags=["v2s-lineage=l1", "v2s-address=a"])
    assert (srv.state, srv.state_detail, srv.location) == ("stopped", "", None)
    assert srv.allowed_actions == ["poweron", "backup"]
    root = srv.volumes["0"]
    assert (root.volume_type, root.state) == ("sbs_volume", "available")
    vol = block.get_volume(volume_id=root.id)
    assert (vol.status, vol.size, vol.name) == ("in_use", 20 * GB, "web-01_sbs_volume_0")
    assert vol.references[0].product_resource_type == "instance_server"

    def state() -> tuple[str, str]:
        s = inst.get_server(server_id=srv.id).server
        return str(s.state), s.state_detail

    seen = []
    inst.server_action(server_id=srv.id, action="poweron")
    seen.append(state())
    sim.advance(5)
    seen.append(state())
    inst.server_action(server_id=srv.id, action="poweroff")
    seen.append(state())
    sim.advance(40)
    seen.append(state())
    inst.server_action(server_id=srv.id, action="poweron")
    sim.advance(5)
    inst.server_action(server_id=srv.id, action="terminate")
    seen.append(state())
    assert seen == [
        ("starting", "allocating node"),
        ("running", "booting kernel"),
        ("stopping", "stopping"),
        ("stopped", ""),
        ("stopping", "terminating"),
    ]
    sim.advance(6)
    with pytest.raises(ScalewayException) as exc:
        inst.get_server(server_id=srv.id)
    assert exc.value.status_code == 404
    assert json.loads(exc.value.response.text)["resource"] == "instance_server"
    left = block.get_volume(volume_id=root.id)  # terminate keeps SBS volumes
    assert (left.status, left.references) == ("available", [])
    assert left.last_detached_at is not None

    sim.wait_workers()
    assert [b.server_id for b in booted] == [srv.id, srv.id]
    info = booted[0]
    assert info.root_volume_id == root.id and info.root_volume_path is not None
    qinfo = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", str(info.root_volume_path)],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    assert qinfo["virtual-size"] == 20 * GB  # the volume's size over the imported data
    block.delete_volume(volume_id=root.id)
    assert not info.root_volume_path.exists()


def test_actions_refused_in_the_wrong_state(manual_sim: Simulator, images, upload) -> None:  # type: ignore[no-untyped-def]
    sim = manual_sim
    inst = InstanceUtilsV1API(sim.client())
    srv = _server(inst, _image(sim, images, upload))
    with pytest.raises(ScalewayException) as exc:
        inst.server_action(server_id=srv.id, action="poweroff")
    assert exc.value.status_code == 400
    inst.server_action(server_id=srv.id, action="poweron")
    with pytest.raises(ScalewayException) as exc:
        inst.server_action(server_id=srv.id, action="poweron")
    assert exc.value.status_code == 409
    assert json.loads(exc.value.response.text)["type"] == "transient_state"
    sim.advance(5)
    with pytest.raises(ScalewayException) as exc:
        inst.delete_server(server_id=srv.id)
    assert exc.value.status_code == 400
    with pytest.raises(ScalewayException) as exc:
        inst._update_server(server_id=srv.id, commercial_type="PRO2-M")
    assert exc.value.status_code == 400
    inst.server_action(server_id=srv.id, action="poweroff")
    sim.advance(40)
    updated = inst._update_server(server_id=srv.id, commercial_type="PRO2-M", tags=["x"]).server
    assert (updated.commercial_type, updated.tags) == ("PRO2-M", ["x"])
    inst.delete_server(server_id=srv.id)
    vol = BlockV1API(sim.client()).get_volume(volume_id=srv.volumes["0"].id)
    assert vol.status == "available"


def test_server_from_snapshot_without_image(sim: Simulator, images, upload) -> None:  # type: ignore[no-untyped-def]
    bucket, key = upload(images["valid"], "d.qcow2")
    client = sim.client()
    block, inst = BlockV1API(client), InstanceUtilsV1API(client)
    snap = block.wait_for_snapshot(
        snapshot_id=block.import_snapshot_from_object_storage(bucket=bucket, key=key, name="s").id,
        options=FAST,
    )
    srv = inst.create_server(
        commercial_type="POP2-2C-8G",
        name="db",
        volumes={
            "0": VolumeServerTemplate(
                volume_type="sbs_volume", base_snapshot=snap.id, size=10 * GB, boot=False
            )
        },
        dynamic_ip_required=True,
    ).server
    assert srv.image is None
    assert srv.public_ip is not None and srv.public_ip.address
    vol = block.get_volume(volume_id=srv.volumes["0"].id)
    assert (vol.parent_snapshot_id, vol.size) == (snap.id, 10 * GB)


def test_create_server_errors(sim: Simulator) -> None:
    inst = InstanceUtilsV1API(sim.client())
    with pytest.raises(ScalewayException) as exc:
        inst.create_server(commercial_type="PRO2-S", image="7a892c1a-bbdc-491f-9974-4008e3708664")
    assert exc.value.status_code == 404
    assert json.loads(exc.value.response.text)["resource"] == "instance_image"
    with pytest.raises(ScalewayException) as exc:
        inst.create_server(commercial_type="NOPE-1", image="4481c662-2357-432f-b0fd-dd6470c08c49")
    assert exc.value.status_code == 400
    with pytest.raises(ScalewayException) as exc:
        inst.create_server(commercial_type="GP1-XL", image="4481c662-2357-432f-b0fd-dd6470c08c49")
    assert json.loads(exc.value.response.text)["type"] == "out_of_stock"


def test_private_nic_syncs_then_is_available(manual_sim: Simulator) -> None:
    sim = manual_sim
    inst = InstanceUtilsV1API(sim.client())
    srv = _server(inst, "4481c662-2357-432f-b0fd-dd6470c08c49")
    pn = "b53c6f78-2c9d-4935-b197-f30ac93621a0"
    nic = inst.create_private_nic(server_id=srv.id, private_network_id=pn).private_nic
    assert nic.state == "syncing" and len(nic.ipam_ip_ids) == 2
    sim.advance(90)
    assert inst.get_private_nic(server_id=srv.id, private_nic_id=nic.id).private_nic.state == (
        "available"
    )
    listed = inst.list_private_ni_cs(server_id=srv.id)
    assert [n.id for n in listed.private_nics] == [nic.id]
    assert int(listed.total_count) == 1
    assert [s.id for s in inst.list_servers(private_network=pn).servers] == [srv.id]
    assert inst.get_server(server_id=srv.id).server.private_nics[0].id == nic.id
    addresses = IpamV1API(sim.client()).list_i_ps(resource_id=nic.id).ips
    assert sorted(ip.id for ip in addresses) == sorted(nic.ipam_ip_ids)
    v4 = next(ip for ip in addresses if not ip.is_ipv6)
    assert v4.address.startswith("172.16.") and v4.source.private_network_id == pn
    assert v4.resource.mac_address == nic.mac_address
    inst.delete_private_nic(server_id=srv.id, private_nic_id=nic.id)
    assert IpamV1API(sim.client()).list_i_ps(resource_id=nic.id).total_count == 0
    with pytest.raises(ScalewayException) as exc:
        inst.get_private_nic(server_id=srv.id, private_nic_id=nic.id)
    assert json.loads(exc.value.response.text)["resource"] == "instance_private_nic"


def test_server_pagination_and_tag_filters(sim: Simulator) -> None:
    inst = InstanceUtilsV1API(sim.client())
    marketplace = "4481c662-2357-432f-b0fd-dd6470c08c49"
    ids = [_server(inst, marketplace, name=f"s{i}", tags=["v2s", f"n{i % 2}"]).id for i in range(7)]
    page = inst.list_servers(per_page=3, page=1)
    assert (len(page.servers), int(page.total_count)) == (3, 7)
    assert len(inst.list_servers(per_page=3, page=3).servers) == 1
    assert inst.list_servers(per_page=3, page=4).servers == []
    assert sorted(s.id for s in inst.list_servers_all(per_page=3)) == sorted(ids)
    assert len(inst.list_servers(tags=["v2s", "n1"]).servers) == 3  # every tag must match
    assert len(inst.list_servers(name="s1").servers) == 1
    raw = requests.get(
        f"{sim.url}/instance/v1/zones/fr-par-1/servers",
        params={"per_page": 3, "page": 2},
        headers={"X-Auth-Token": sim.account.secret_key},
        timeout=10,
    )
    assert raw.headers["X-Total-Count"] == "7"
    assert 'rel="next"' in raw.headers["Link"] and 'rel="last"' in raw.headers["Link"]
    assert "</servers?page=3&per_page=3&>" in raw.headers["Link"]
    with pytest.raises(ScalewayException) as exc:
        inst.list_servers(per_page=101)
    assert exc.value.status_code == 400


def test_block_pagination_and_tag_filters(sim: Simulator) -> None:
    block = BlockV1API(sim.client())
    made = [
        block.create_volume(
            name=f"v{i}", perf_iops=15000 if i == 0 else 5000,
            from_empty=CreateVolumeRequestFromEmpty(size=10 * GB), tags=[f"t{i % 2}"],
        ).id
        for i in range(5)
    ]  # fmt: skip
    assert block.list_volumes(include_deleted=False, page_size=2, page=3).total_count == 5
    assert len(block.list_volumes(include_deleted=False, page_size=2, page=3).volumes) == 1
    assert sorted(v.id for v in block.list_volumes_all(include_deleted=False, page_size=2)) == (
        sorted(made)
    )
    # Block tag filter: one or more matching tags.
    assert len(block.list_volumes(include_deleted=False, tags=["t0", "t1"]).volumes) == 5
    assert len(block.list_volumes(include_deleted=False, tags=["t1"]).volumes) == 2
    first = block.get_volume(volume_id=made[0])
    assert (first.type_, first.specs.perf_iops) == ("sbs_15k", 15000)


def test_catalogue_pages_prices_and_availability(sim: Simulator) -> None:
    inst = InstanceUtilsV1API(sim.client())
    seen: dict[str, object] = {}
    page = 1
    while True:
        got = inst.list_servers_types(per_page=10, page=page).servers
        if not got:
            break
        seen |= got
        page += 1
    wanted = {"DEV1-S", "DEV1-M", "DEV1-L", "GP1-S", "PRO2-XXS", "PRO2-S", "PRO2-L", "POP2-2C-8G"}
    assert wanted <= set(seen)
    dev1s = seen["DEV1-S"]
    assert dev1s.hourly_price == 0.008976 and dev1s.ram == 2 * 2**30  # type: ignore[attr-defined]
    avail = inst.get_server_types_availability(per_page=100).servers
    assert avail["PRO2-S"].availability == "available"
    assert avail["GP1-XL"].availability == "shortage"
    assert int(inst.list_servers_types(per_page=10).total_count) == len(seen)


def test_instance_api_does_not_know_sbs_volumes(sim: Simulator) -> None:
    inst = InstanceUtilsV1API(sim.client())
    srv = _server(inst, "4481c662-2357-432f-b0fd-dd6470c08c49")
    with pytest.raises(ScalewayException) as exc:
        inst.get_volume(volume_id=srv.volumes["0"].id)
    assert json.loads(exc.value.response.text)["resource"] == "instance_volume"


def test_data_dir_is_private(sim: Simulator) -> None:
    assert sim.data_dir is not None
    assert (Path(sim.data_dir).stat().st_mode & 0o777) == 0o700


def test_boot_hook_failure_is_recorded_and_exposed(manual_sim: Simulator, images, upload) -> None:  # type: ignore[no-untyped-def]
    sim = manual_sim

    def hook(info: BootInfo) -> None:
        raise RuntimeError(f"guest on {info.root_volume_path} did not boot")

    sim.boot_hook = hook
    inst = InstanceUtilsV1API(sim.client())
    srv = _server(inst, _image(sim, images, upload))
    inst.server_action(server_id=srv.id, action="poweron")
    sim.advance(5)
    sim.wait_workers()
    assert isinstance(sim.boot_results[srv.id], RuntimeError)
    state = requests.get(
        f"{sim.url}/_sim/servers/{srv.id}",
        headers={"X-Auth-Token": sim.account.secret_key},
        timeout=10,
    ).json()
    assert state["root_volume_path"] == str(sim.root_volume_path(srv.id))
    assert "did not boot" in state["boot_result"]
    assert inst.get_server(server_id=srv.id).server.state == "running"  # Scaleway cannot tell


def test_quotas_exceeded(sim: Simulator) -> None:
    sim.quotas.update(instances=1, volumes=1)
    inst = InstanceUtilsV1API(sim.client())
    _server(inst, "4481c662-2357-432f-b0fd-dd6470c08c49")
    with pytest.raises(ScalewayException) as exc:
        _server(inst, "4481c662-2357-432f-b0fd-dd6470c08c49", name="second")
    body = json.loads(exc.value.response.text)
    assert (exc.value.status_code, body["type"]) == (403, "quotas_exceeded")
    assert body["details"] == [{"resource": "instances", "quota": 1, "current": 1}]
    with pytest.raises(ScalewayException) as exc:
        BlockV1API(sim.client()).create_volume(
            name="v", perf_iops=5000, from_empty=CreateVolumeRequestFromEmpty(size=10 * GB)
        )
    assert json.loads(exc.value.response.text)["details"][0]["resource"] == "volumes"


def test_volume_growth_resizes_its_data(manual_sim: Simulator, images, upload) -> None:  # type: ignore[no-untyped-def]
    sim = manual_sim
    inst = InstanceUtilsV1API(sim.client())
    srv = _server(inst, _image(sim, images, upload))
    block = BlockV1API(sim.client())
    vid = srv.volumes["0"].id
    assert block.update_volume(volume_id=vid, size=30 * GB).status == "updating"
    with pytest.raises(ScalewayException) as exc:  # one change at a time
        block.update_volume(volume_id=vid, size=40 * GB)
    assert exc.value.status_code == 409
    sim.advance(3)
    assert block.get_volume(volume_id=vid).status == "in_use"
    path = sim.root_volume_path(srv.id)
    assert path is not None
    out = subprocess.run(
        ["qemu-img", "info", "--output=json", str(path)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout)["virtual-size"] == 30 * GB
    with pytest.raises(ScalewayException):
        block.update_volume(volume_id=vid, size=10 * GB)
    faster = block.update_volume(volume_id=vid, perf_iops=15000)
    sim.advance(3)
    assert (faster.type_, faster.specs.perf_iops) == ("sbs_15k", 15000)


def test_parallel_clients_see_consistent_state(sim: Simulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def life(i: int) -> str:
        inst = InstanceUtilsV1API(sim.client())
        srv = _server(inst, "4481c662-2357-432f-b0fd-dd6470c08c49", name=f"p{i}", tags=["par"])
        inst.server_action(server_id=srv.id, action="poweron")
        while inst.get_server(server_id=srv.id).server.state != "running":
            sim.store.tick()
        return str(srv.id)

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(pool.map(life, range(12)))
    listed = InstanceUtilsV1API(sim.client()).list_servers_all(tags=["par"], per_page=5)
    assert sorted(s.id for s in listed) == sorted(ids)
    assert {s.state for s in listed} == {"running"}
