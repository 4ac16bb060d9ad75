"""scw_server and friends against the simulator: NICs, updates, failures, catalogue, plan notes."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from v2s_scaleway.catalogue import Catalogue, Offer, fetch_offers
from v2s_scaleway.provider import ScalewayProvider

from tests.lab.scwsim import Simulator
from tests.scaleway.chain import addresses, apply_chain, desired, destroy_chain
from tests.scaleway.conftest import LINEAGE
from vmware2scw.diagnostics import Severity
from vmware2scw.errors import ProviderError, TransientError
from vmware2scw.plan import Action, Plan, Reason
from vmware2scw.plan.model import ResourceChange
from vmware2scw.plan.render_text import render_text
from vmware2scw.provider import (
    ApplyRequest,
    DeleteRequest,
    PlanRequest,
    ReadRequest,
    ResourceRef,
)
from vmware2scw.testing import RecordingContext

pytestmark = pytest.mark.lab
PN_A = "aaaaaaaa-0000-4000-8000-00000000000a"
PN_B = "bbbbbbbb-0000-4000-8000-00000000000b"


def sim_server(sim: Simulator, server_id: str) -> dict:
    with sim.store.lock:
        srv = dict(sim.store.servers[server_id])
        srv["nics"] = [dict(sim.store.nics[n]) for n in srv["private_nics"]]
    return srv


def test_private_nics_in_mac_order_and_not_duplicated_on_rerun(
    provider: ScalewayProvider, sim: Simulator, bucket: str, qcow2: Path,
) -> None:
    nics = [{"mac": "00:50:56:00:00:02", "network": "backend"},
            {"mac": "00:50:56:00:00:01", "network": "frontend"}]
    want = desired("pn-01", qcow2, bucket, LINEAGE, private_networks=None, public_ip=False,
                   network_mapping={"frontend": PN_A, "backend": PN_B}, source_nics=nics)
    state = apply_chain(provider, "pn-01", want, LINEAGE)
    addr = addresses("pn-01")["scw_server"]
    srv = sim_server(sim, state[addr]["id"])
    assert [n["private_network_id"] for n in srv["nics"]] == [PN_A, PN_B]
    assert all(n["state"] == "available" for n in srv["nics"])
    assert srv["public_ip"] is None and state[addr]["public_ip_address"] is None
    # a rerun with no state (adoption) keeps the same NICs
    again = provider.apply(ApplyRequest(address=addr, type="scw_server", prior=None,
                                        planned={**state[addr], "id": None}),
                           RecordingContext(addr, lineage=LINEAGE))
    assert again.attributes["id"] == state[addr]["id"]
    assert len(sim_server(sim, state[addr]["id"])["nics"]) == 2
    destroy_chain(provider, state, LINEAGE)


def plan_server(provider: ScalewayProvider, prior: dict | None, **desired_attrs: object):
    base = {"name": "s", "zone": "fr-par-1", "commercial_type": "PRO2-XXS", "image_id": "i",
            "tags": [], "security_group": None, "public_ip": True, "private_networks": [],
            "power_on": True, "verify_tcp": [], "source_cpus": 2, "source_memory_mb": 4096}
    desired = {**base, **desired_attrs}
    ref = ResourceRef(address="migration.s.scw_server", type="scw_server", attributes=desired)
    provider.read(ReadRequest(resources=(), planned=(ref,)))  # refresh reads the catalogue
    return provider.plan(PlanRequest(address="migration.s.scw_server", type="scw_server",
                                     prior=prior, desired=desired))


def test_unmapped_nic_is_a_plan_error_unless_dropped(provider: ScalewayProvider) -> None:
    nics = [{"mac": "00:50:56:00:00:01", "network": "VM Network"},
            {"mac": "00:50:56:00:00:02", "network": "DMZ"}]
    res = plan_server(provider, None, private_networks=None, source_nics=nics,
                      network_mapping={"VM Network": PN_A})
    errors = [d for d in res.diagnostics if d.severity is Severity.ERROR]
    assert len(errors) == 1 and "DMZ" in errors[0].summary
    assert "drop_unmapped_nics" in errors[0].detail
    res = plan_server(provider, None, private_networks=None, source_nics=nics,
                      network_mapping={"VM Network": PN_A}, drop_unmapped_nics=True)
    assert not [d for d in res.diagnostics if d.severity is Severity.ERROR]
    assert res.planned["private_networks"] == [PN_A]
    assert "network_mapping" not in res.planned


def test_plan_shows_price_of_new_servers_and_their_total(provider: ScalewayProvider) -> None:
    a = plan_server(provider, None)
    b = plan_server(provider, None, commercial_type="PRO2-XS")
    assert a.planned["monthly_price"] > 0 and "monthly_price" not in a.unknown
    # no order-dependent running total in the provider's notes: the renderers sum it
    assert not [d for d in a.diagnostics + b.diagnostics if "total" in d.summary + d.detail]
    changes = [ResourceChange(address=f"migration.{n}.scw_server", type="scw_server",
                              provider="scaleway", action=Action.CREATE, reason=Reason.NEW,
                              after=r.planned, after_unknown=r.unknown)
               for n, r in (("a", a), ("b", b))]
    text = render_text(Plan(lineage="L", serial=0, changes=tuple(changes)))
    total = a.planned["monthly_price"] + b.planned["monthly_price"]
    assert f"# about €{b.planned['monthly_price']:.2f}/month" in text
    assert f"New servers: about €{total:.2f}/month in total (2 servers priced)." in text


def test_unknown_type_and_too_small_type_are_reported(provider: ScalewayProvider) -> None:
    res = plan_server(provider, None, commercial_type="PRO9-HUGE")
    assert any(d.severity is Severity.ERROR and "PRO9-HUGE" in d.summary
               for d in res.diagnostics)
    res = plan_server(provider, None, commercial_type="DEV1-S", source_cpus=8)
    assert any(d.severity is Severity.WARNING and "less than" in d.summary
               for d in res.diagnostics)


def test_type_change_is_in_place_with_stop_start_and_the_plan_says_so(
    provider: ScalewayProvider, sim: Simulator, bucket: str, qcow2: Path,
) -> None:
    state = apply_chain(provider, "rs-01", desired("rs-01", qcow2, bucket, LINEAGE), LINEAGE)
    addr = addresses("rs-01")["scw_server"]
    prior = state[addr]
    plan = plan_server(provider, prior, **{k: prior[k] for k in (
        "name", "zone", "image_id", "tags", "security_group", "public_ip", "private_networks")},
        commercial_type="PRO2-XS")
    assert "commercial_type" not in provider.resource_types()["scw_server"].force_new
    assert any("stops and starts" in d.summary for d in plan.diagnostics)
    sim.log.clear()
    res = provider.apply(ApplyRequest(
        address=addr, type="scw_server", prior=prior,
        planned={**plan.planned, "name": "renamed", "tags": ["migrated", "wave-2"]}),
        RecordingContext(addr, lineage=LINEAGE))
    srv = sim_server(sim, prior["id"])
    assert res.attributes["id"] == prior["id"] and srv["commercial_type"] == "PRO2-XS"
    assert srv["state"] == "running" and srv["name"] == "renamed"
    assert "wave-2" in srv["tags"] and f"v2s-address={addr}" in srv["tags"]
    actions = [p for m, p, _ in sim.log if m == "POST" and p.endswith("/action")]
    assert len(actions) == 2  # poweroff, poweron
    destroy_chain(provider, state, LINEAGE)


def test_import_failure_surfaces_the_reason_and_leaves_no_snapshot(
    provider: ScalewayProvider, sim: Simulator, bucket: str, tmp_path: Path,
) -> None:
    raw = tmp_path / "disk0.qcow2"
    raw.write_bytes(b"\0" * (6 * 1024 * 1024))  # a raw file with a qcow2 name
    want = desired("bad-01", raw, bucket, LINEAGE)
    with pytest.raises(ProviderError) as err:
        apply_chain(provider, "bad-01", want, LINEAGE,
                    types=("s3_object", "scw_snapshot"))
    msg = str(err.value)
    assert "migration.bad-01.scw_snapshot[0]" in msg and "not a QCOW2" in msg
    print(msg)
    with sim.store.lock:
        assert not [s for s in sim.store.snapshots.values()
                    if any("bad-01" in t for t in s["tags"])]


def test_verify_tcp_uses_the_hook_and_fails_on_a_closed_port(
    sim: Simulator, s3_server, bucket: str, qcow2: Path, tmp_path: Path,
) -> None:
    from tests.scaleway.conftest import configure

    prov = configure(sim, s3_server, bucket, tmp_path, server_timeout=3)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    prov.tcp_targets = lambda attrs, ports: [("127.0.0.1", port if p == 22 else 9) for p in ports]
    state = apply_chain(prov, "tcp-01", desired("tcp-01", qcow2, bucket, LINEAGE,
                                                verify_tcp=[22]), LINEAGE)
    addr = addresses("tcp-01")["scw_server"]
    assert state[addr]["state"] == "running"
    with pytest.raises(TransientError, match="does not answer"):
        prov.apply(ApplyRequest(address=addr, type="scw_server", prior=state[addr],
                                planned={**state[addr], "verify_tcp": [2222]}),
                   RecordingContext(addr, lineage=LINEAGE))
    listener.close()
    destroy_chain(prov, state, LINEAGE)
    prov.close()


def test_delete_finds_an_unrecorded_server_by_its_tags(
    provider: ScalewayProvider, sim: Simulator, bucket: str, qcow2: Path,
) -> None:
    state = apply_chain(provider, "lost-01", desired("lost-01", qcow2, bucket, LINEAGE), LINEAGE)
    addr = addresses("lost-01")["scw_server"]
    sid = state[addr]["id"]
    provider.delete(DeleteRequest(address=addr, type="scw_server",
                                  prior={k: v for k, v in state[addr].items()
                                         if k not in {"id", "volume_ids"}}),
                    RecordingContext(addr, lineage=LINEAGE))
    with sim.store.lock:
        assert sid not in sim.store.servers
        assert not [v for v in sim.store.volumes.values() if v.get("tags") is not None
                    and any(t == f"v2s-address={addr}" for t in v["tags"])]
    del state[addr]
    destroy_chain(provider, state, LINEAGE)


def test_catalogue_is_paginated_and_read_once(provider: ScalewayProvider, sim: Simulator) -> None:
    small_pages = fetch_offers(provider.api, "fr-par-1", per_page=10)
    assert len(small_pages) > 20 and small_pages == fetch_offers(provider.api, "fr-par-1")
    sim.log.clear()
    cat = Catalogue.from_api(provider.api)
    for _ in range(3):
        cat.offers("fr-par-1")
    assert len([p for _m, p, _s in sim.log if p.endswith("/products/servers")]) == 1
    best = provider.suggest_type(2, 3000)
    assert best is not None and best.ncpus >= 2 and best.memory_mb >= 3000
    raw = provider.catalogue_map()
    assert raw[best.name]["ram"] >= 3000 * 2**20 and raw[best.name]["monthly_price"] > 0


def test_suggest_picks_the_cheapest_fitting_type() -> None:
    cat = Catalogue.from_offers([
        Offer(name="BIG", ncpus=8, ram_bytes=32 * 2**30, monthly_price=100),
        Offer(name="SMALL", ncpus=2, ram_bytes=4 * 2**30, monthly_price=10),
        Offer(name="MID", ncpus=4, ram_bytes=8 * 2**30, monthly_price=20),
        Offer(name="OLD", ncpus=4, ram_bytes=8 * 2**30, monthly_price=5, end_of_service=True),
        Offer(name="GPU", ncpus=4, ram_bytes=8 * 2**30, monthly_price=1, gpu=1),
        Offer(name="MID-WIN", ncpus=4, ram_bytes=8 * 2**30, monthly_price=30),
    ])
    assert cat.suggest("z", 2, 4096).name == "SMALL"
    assert cat.suggest("z", 3, 4096).name == "MID"
    assert cat.suggest("z", 3, 4096, windows=True).name == "MID-WIN"
    assert cat.suggest("z", 64, 4096) is None


def test_real_qcow2_fixture_is_valid(qcow2: Path) -> None:
    out = subprocess.run(["qemu-img", "info", str(qcow2)], capture_output=True, text=True,
                         check=True).stdout
    assert "file format: qcow2" in out


def test_asynchronous_import_error_is_reported_and_cleaned_up(
    provider: ScalewayProvider, sim: Simulator, bucket: str, qcow2: Path,
) -> None:
    """A qcow2 whose header is fine but whose body is cut: the import ends in ``error``."""
    with qcow2.open("r+b") as f:
        f.truncate(qcow2.stat().st_size // 2)
    want = desired("cut-01", qcow2, bucket, LINEAGE)
    with pytest.raises(ProviderError) as err:
        apply_chain(provider, "cut-01", want, LINEAGE, types=("s3_object", "scw_snapshot"))
    assert "failed" in str(err.value) and "was deleted" in str(err.value)
    with sim.store.lock:
        assert not [s for s in sim.store.snapshots.values()
                    if any("cut-01" in t for t in s["tags"])]


def test_two_disk_vm_gets_an_image_with_an_extra_volume(
    provider: ScalewayProvider, sim: Simulator, bucket: str, qcow2: Path, tmp_path: Path,
) -> None:
    second = tmp_path / "disk1.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(second), "2G"], check=True)
    name = "md-01"
    want = desired(name, qcow2, bucket, LINEAGE)
    addr = addresses(name)
    state = apply_chain(provider, name, want, LINEAGE, types=("s3_object", "scw_snapshot"))
    d1 = {**want["s3_object"], "source_path": str(second), "source_sha256": None,
          "key": want["s3_object"]["key"].replace("disk0", "disk1")}
    a1 = {"s3": f"migration.{name}.s3_object[1]", "snap": f"migration.{name}.scw_snapshot[1]"}
    state[a1["s3"]] = provider.apply(ApplyRequest(address=a1["s3"], type="s3_object", prior=None,
                                                  planned=d1),
                                     RecordingContext(a1["s3"], lineage=LINEAGE)).attributes
    snap1 = {**want["scw_snapshot"], "key": d1["key"], "size_bytes": 2 * 2**30}
    state[a1["snap"]] = provider.apply(ApplyRequest(address=a1["snap"], type="scw_snapshot",
                                                    prior=None, planned=snap1),
                                       RecordingContext(a1["snap"], lineage=LINEAGE)).attributes
    want["scw_image"]["extra_snapshot_ids"] = [state[a1["snap"]]["id"]]
    state = apply_chain(provider, name, want, LINEAGE, state, types=("scw_image", "scw_server"))
    srv = state[addr["scw_server"]]
    assert len(srv["volume_ids"]) == 2
    with sim.store.lock:
        sizes = sorted(sim.store.volumes[v]["size"] for v in srv["volume_ids"])
        img = sim.store.images[state[addr["scw_image"]]["id"]]
    assert sizes[1] >= 2 * 2**30 and sizes[0] >= 2**30
    assert img["extra_volumes"]["1"]["id"] == state[a1["snap"]]["id"]
    for a in (addr["scw_server"], addr["scw_image"], a1["snap"], a1["s3"]):
        typ = a.rsplit(".", 1)[1].split("[")[0]
        provider.delete(DeleteRequest(address=a, type=typ, prior=state.pop(a)),
                        RecordingContext(a, lineage=LINEAGE))
    destroy_chain(provider, state, LINEAGE)
    assert sim.store.volumes == {}


def test_verify_tcp_resolver_setting_asks_the_lab_where_ports_are(tmp_path: Path) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from v2s_scaleway.server import resolver_targets

    asked: list[str] = []
    tokens: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            tokens.append(self.headers.get("X-Auth-Token"))
            body = json.dumps({"host": "127.0.0.1", "port": 40022}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/_sim/servers/{{server_id}}/tcp/{{port}}"
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        assert resolver_targets(url, auth=(base, "tok"))({"id": "abc"}, [22]) == [
            ("127.0.0.1", 40022)]
        assert asked == ["/_sim/servers/abc/tcp/22"] and tokens == ["tok"]
        resolver_targets(url, auth=("http://elsewhere:1", "tok"))({"id": "abc"}, [22])
        assert tokens[-1] is None  # the token never goes to another host
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_server_stopped_behind_our_back_is_planned_and_powered_on_again(
    provider: ScalewayProvider, sim: Simulator, bucket: str, qcow2: Path,
) -> None:
    from vmware2scw.provider import ReadRequest, ResourceRef

    state = apply_chain(provider, "drift-01", desired("drift-01", qcow2, bucket, LINEAGE),
                        LINEAGE)
    addr = addresses("drift-01")["scw_server"]
    sid = state[addr]["id"]
    provider.api.instance.server_action(server_id=sid, zone="fr-par-1", action="poweroff")
    sim.advance(60)
    read = provider.read(ReadRequest(resources=(
        ResourceRef(address=addr, type="scw_server", attributes=state[addr]),)))
    observed = read.attributes[addr]
    assert observed is not None and observed["power_on"] is False
    plan = plan_server(provider, observed, **{k: state[addr][k] for k in (
        "name", "zone", "image_id", "tags", "security_group", "public_ip", "private_networks",
        "commercial_type")})
    assert "power_on" not in provider.resource_types()["scw_server"].force_new  # an update
    assert plan.planned["power_on"] is True
    res = provider.apply(ApplyRequest(address=addr, type="scw_server", prior=observed,
                                      planned=plan.planned),
                         RecordingContext(addr, lineage=LINEAGE))
    assert res.attributes["state"] == "running" and res.attributes["id"] == sid
    destroy_chain(provider, state, LINEAGE)


def test_dynamic_public_ip_mode_reserves_no_flexible_ip(
    sim: Simulator, s3_server, bucket: str, qcow2: Path, tmp_path: Path,
) -> None:
    from tests.scaleway.conftest import configure

    prov = configure(sim, s3_server, bucket, tmp_path, public_ip_mode="dynamic")
    state = apply_chain(prov, "dyn-01", desired("dyn-01", qcow2, bucket, LINEAGE), LINEAGE)
    srv = sim_server(sim, state[addresses("dyn-01")["scw_server"]]["id"])
    assert srv["dynamic_ip_required"] is True
    with sim.store.lock:
        assert not [i for i in sim.store.ips.values() if i.get("tags")]
    destroy_chain(prov, state, LINEAGE)
    prov.close()


def test_import_size_smaller_than_the_image_falls_back_to_the_image_size(
    provider: ScalewayProvider, sim: Simulator, bucket: str, tmp_path: Path,
) -> None:
    """Conversion may grow a disk (an ESP added): the planned size is then too small."""
    disk = tmp_path / "disk0.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "3G"], check=True)
    want = desired("grow-01", disk, bucket, LINEAGE)
    want["scw_snapshot"]["size_bytes"] = 2 * 10**9
    state = apply_chain(provider, "grow-01", want, LINEAGE, types=("s3_object", "scw_snapshot"))
    assert state[addresses("grow-01")["scw_snapshot"]]["size"] == 3 * 2**30
    destroy_chain(provider, state, LINEAGE)


def test_plan_reads_nothing_the_catalogue_comes_from_refresh(provider: ScalewayProvider) -> None:
    desired = {"name": "s", "zone": "fr-par-1", "commercial_type": "PRO2-XXS", "image_id": "i",
               "tags": [], "security_group": None, "public_ip": True, "private_networks": []}
    req = PlanRequest(address="migration.s.scw_server", type="scw_server", prior=None,
                      desired=desired)
    unread = provider.plan(req)
    assert unread.planned["monthly_price"] is None  # plan() made no call to read it
    assert any("catalogue not read" in d.summary for d in unread.diagnostics)
    ref = ResourceRef(address=req.address, type="scw_server", attributes=desired)
    provider.read(ReadRequest(resources=(), planned=(ref,)))
    assert provider.plan(req).planned["monthly_price"] > 0
