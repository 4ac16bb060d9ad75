"""`v2s handoff` with the real Scaleway provider against the simulator (issue 15).

Two migrations (a flexible public IP; a private NIC) are applied by the engine; the
hand-off must import every object of their servers exactly once, by IDs the simulator
knows; after `handoff done`, plan shows no change and destroy deletes none of them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from v2s_scaleway.provider import ScalewayProvider

from tests.handoff.helpers import declared, imports
from tests.lab.scwsim import Simulator
from tests.scaleway.conftest import LINEAGE
from tests.scaleway.test_engine_sim import chain
from vmware2scw.desired import Desired, DesiredResource, ProviderBlock
from vmware2scw.handoff import writer
from vmware2scw.handoff.done import mark_done
from vmware2scw.handoff.select import select
from vmware2scw.plan import Action, PlanOptions
from vmware2scw.plan.planner import make_plan
from vmware2scw.provider import HandoffRecord, HandoffRequest
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


def test_handoff_imports_every_object_and_done_keeps_them_from_plan_and_destroy(
    provider: ScalewayProvider, sim: Simulator, bucket: str, qcow2: Path, tmp_path: Path,
) -> None:
    want = desired(qcow2, bucket)
    provs = {"scaleway": provider}
    backend = LocalBackend(tmp_path / "v2s.state.json")
    sm = StateManager(backend, state=State(lineage=LINEAGE))
    opts = WalkOptions(work_dir=tmp_path / "work", desired=want, handle_sigint=False,
                       backoff_base=0.01, backoff_cap=0.05)
    result = walk(make_plan(want, sm.state, provs, PlanOptions()), sm, provs, opts)
    assert result.ok, [(o.address, o.status) for o in result.outcomes]

    chosen = select(sm.state, provider.handoff_types(), ())
    records = tuple(HandoffRecord(address=r.address, type=r.type, attributes=r.attributes,
                                  migration=r.migration, name=chosen.names[r.migration])
                    for r in chosen.records)
    resp = provider.handoff(HandoffRequest(records=records, lineage=LINEAGE))
    files = writer.render([resp], {r.address: r.migration for r in chosen.records},
                          chosen.names, LINEAGE)
    got = imports(files)
    live = sim_objects(sim)
    assert Counter(i for _, i in got) == Counter(set().union(*live.values()))  # once each
    for to, import_id in got:
        assert import_id in live[to.split(".")[0]], (to, import_id)
    assert len(live["scaleway_instance_ip"]) == len(live["scaleway_instance_private_nic"]) == 1
    nic = declared(files)["scaleway_instance_private_nic.ho_02_nic0"]
    assert nic["private_network_id"] == f"fr-par/{PN}"

    both = ("migration.ho-01", "migration.ho-02")
    marked, _ = mark_done(backend, provider.handoff_types(), both)
    assert sorted(marked) == ["migration.ho-01.scw_server", "migration.ho-02.scw_server"]
    recorded = StateManager.load(backend).state
    refreshed, diags = refresh(recorded, provs)
    assert not [d for d in diags if d.severity == "error"], diags
    again = make_plan(want, refreshed, provs, PlanOptions(), recorded=recorded)
    assert [(c.address, c.action) for c in again.changes if c.action is not Action.NOOP] == []
    assert again.drift == ()

    gone = make_plan(want, refreshed, provs, PlanOptions(destroy=True))
    assert not {c.address for c in gone.changes} & set(marked)
    sm2 = StateManager(backend, state=recorded)
    result = walk(gone, sm2, provs, opts)
    assert result.ok, [(o.address, o.status, o.message) for o in result.outcomes]
    assert sim_objects(sim) == live  # no server, volume, IP or NIC was deleted
    with sim.store.lock:  # what v2s still managed went: its image and snapshots
        left = [o for kind in ("images", "snapshots") for o in getattr(sim.store, kind).values()
                if f"v2s-lineage={LINEAGE}" in o.get("tags", [])]
    assert left == []
    assert sorted(StateManager.load(backend).state.resources) == sorted(marked)
