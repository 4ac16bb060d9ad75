"""`v2s handoff` with the real Scaleway provider against the simulator (issue 15).

Two migrations (a flexible public IP; a private NIC) are applied by the engine; the
hand-off must import every object of their servers exactly once, by IDs the simulator
knows (through `v2s handoff terraform`); after `v2s handoff done`, plan shows no change
for them and `v2s destroy -auto-approve` deletes none of them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from v2s_scaleway.provider import ScalewayProvider

from tests.cli.helpers import run
from tests.handoff.helpers import declared, imports
from tests.lab.s3 import ACCESS_KEY, MotoS3Server
from tests.lab.scwsim import Simulator
from tests.scaleway.conftest import LINEAGE
from tests.scaleway.test_engine_sim import chain
from vmware2scw.desired import Desired, DesiredResource, ProviderBlock
from vmware2scw.plan import Action, PlanOptions, Reason
from vmware2scw.plan.planner import make_plan
from vmware2scw.refresh import refresh
from vmware2scw.state.local import LocalBackend
from vmware2scw.state.manager import StateManager
from vmware2scw.state.model import State
from vmware2scw.walker import WalkOptions, walk

pytestmark = pytest.mark.lab
PN = "aaaaaaaa-0000-4000-8000-00000000000a"


def desired(qcow2: Path, bucket: str) -> Desired:
    resources: dict[str, DesiredResource] = {}
    resources.update(chain("ho-01", qcow2, bucket))
    second = chain("ho-02", qcow2, bucket)
    server = second["migration.ho-02.scw_server"]
    second[server.address] = server.model_copy(update={"attributes": {
        **server.attributes, "public_ip": False, "private_networks": [PN]}})
    resources.update(second)
    return Desired(resources=resources,
                   providers={"scaleway": ProviderBlock(local_name="scaleway", source="scaleway")},
                   config_digest="sha256:x", source_digests={"ho-01": "1", "ho-02": "1"})


def sim_objects(sim: Simulator) -> dict[str, set[str]]:
    """Import IDs of every server, volume, IP and private NIC the simulator holds."""
    with sim.store.lock:
        servers = {f"{s['zone']}/{s['id']}" for s in sim.store.servers.values()}
        volumes = {f"{v['zone']}/{v['id']}" for v in sim.store.volumes.values()}
        ips = {f"{i['zone']}/{i['id']}" for i in sim.store.ips.values()}
        nics = {f"{n['zone']}/{n['server_id']}/{n['id']}" for n in sim.store.nics.values()}
    return {"scaleway_instance_server": servers, "scaleway_block_volume": volumes,
            "scaleway_instance_ip": ips, "scaleway_instance_private_nic": nics}


def read_back(sim: Simulator, rtype: str, import_id: str) -> dict[str, object]:
    """What the Terraform provider's Read sets for the arguments the hand-off writes
    (per its source: internal/services/{block/volume,instance/ip,server,private_nic}.go)."""
    zone, *ids = import_id.split("/")
    with sim.store.lock:
        if rtype == "scaleway_block_volume":
            v = sim.store.volumes[ids[0]]
            return {"name": v["name"], "iops": v["specs"]["perf_iops"],
                    "size_in_gb": v["size"] // 10**9, "zone": v["zone"], "tags": v["tags"]}
        if rtype == "scaleway_instance_ip":
            i = sim.store.ips[ids[0]]
            return {"type": i["type"], "zone": i["zone"], "tags": i["tags"]}
        if rtype == "scaleway_instance_server":
            srv = sim.store.servers[ids[0]]
            state = {"running": "started", "stopped": "stopped"}[srv["state"]]
            return {"name": srv["name"], "type": srv["commercial_type"], "zone": srv["zone"],
                    "state": state, "tags": srv["tags"]}
        n = sim.store.nics[ids[1]]
        return {"private_network_id": f"fr-par/{n['private_network_id']}", "zone": zone,
                "tags": n["tags"]}


def test_handoff_imports_every_object_and_done_keeps_them_from_plan_and_destroy(
    provider: ScalewayProvider, sim: Simulator, s3_server: MotoS3Server, bucket: str,
    qcow2: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
) -> None:
    want = desired(qcow2, bucket)
    provs = {"scaleway": provider}
    backend = LocalBackend(tmp_path / "v2s.state.json")
    sm = StateManager(backend, state=State(lineage=LINEAGE))
    opts = WalkOptions(work_dir=tmp_path / "work", desired=want, handle_sigint=False,
                       backoff_base=0.01, backoff_cap=0.05)
    result = walk(make_plan(want, sm.state, provs, PlanOptions()), sm, provs, opts)
    assert result.ok, [(o.address, o.status) for o in result.outcomes]

    # the CLI, with the real provider pointed at the simulator
    for key, value in {**sim.env, "SCW_CONFIG_PATH": str(tmp_path / "none.yaml")}.items():
        monkeypatch.setenv(key, value)
    settings = {"s3_endpoint": s3_server.endpoint_url, "transit_bucket": bucket,
                "access_key": ACCESS_KEY, "poll_interval": 0.05}
    (tmp_path / "v2s.yaml").write_text(yaml.safe_dump({
        "v2s": 1, "providers": {"scaleway": settings},
        "backend": {"local": {"path": "v2s.state.json"}}}))
    r = run(capsys, tmp_path, "handoff", "terraform", "-out", "tf")
    assert r.code == 0, r.text
    files = {p.name: p.read_text() for p in (tmp_path / "tf").iterdir()}
    assert "Plan: 6 to import, 0 to add, 0 to change, 0 to destroy." in files["README.md"]
    got = imports(files)
    live = sim_objects(sim)
    assert Counter(i for _, i in got) == Counter(set().union(*live.values()))  # once each
    for to, import_id in got:
        assert import_id in live[to.split(".")[0]], (to, import_id)
    assert len(live["scaleway_instance_ip"]) == len(live["scaleway_instance_private_nic"]) == 1
    resources = declared(files)
    assert resources["scaleway_instance_private_nic.ho_02_nic0"]["private_network_id"] == (
        f"fr-par/{PN}")
    for to, import_id in got:  # every argument written is what an import reads back
        observed = read_back(sim, to.split(".")[0], import_id)
        written = {k: v for k, v in resources[to].items() if k in observed}
        assert written == {k: v for k, v in observed.items() if v or k in written}, to

    r = run(capsys, tmp_path, "handoff", "done", "-target", "migration.ho-01",
            "-target", "migration.ho-02")
    assert r.code == 0, r.text
    marked = ["migration.ho-01.scw_server", "migration.ho-02.scw_server"]
    assert all(f"Handed off {a}" in r.out for a in marked)
    recorded = StateManager.load(backend).state
    with sim.store.lock:  # Terraform owns them now: its changes are no drift for v2s
        for srv in sim.store.servers.values():
            srv["name"] = f"{srv['name']}-renamed-by-terraform"
    refreshed, diags = refresh(recorded, provs)
    assert not [d for d in diags if d.severity == "error"], diags
    again = make_plan(want, refreshed, provs, PlanOptions(), recorded=recorded)
    assert [(c.address, c.action) for c in again.changes if c.action is not Action.NOOP] == []
    assert {c.address for c in again.changes if c.reason is Reason.HANDED_OFF} == set(marked)
    assert again.drift == ()

    gone = make_plan(want, refreshed, provs, PlanOptions(destroy=True))
    assert not {c.address for c in gone.changes} & set(marked)
    r = run(capsys, tmp_path, "destroy", "-auto-approve")
    assert r.code == 0, r.text
    assert sim_objects(sim) == live  # no server, volume, IP or NIC was deleted
    with sim.store.lock:  # what v2s still managed went: its image and snapshots
        left = [o for kind in ("images", "snapshots") for o in getattr(sim.store, kind).values()
                if f"v2s-lineage={LINEAGE}" in o.get("tags", [])]
    assert left == []
    assert sorted(StateManager.load(backend).state.resources) == sorted(marked)
