"""The provider under the real planner and walker (engine of issue 2) against the lab."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from v2s_scaleway.provider import RESOURCE_TYPES, ScalewayProvider

from tests.lab.s3 import MotoS3Server
from tests.lab.scwsim import Faults, Simulator
from tests.scaleway.conftest import LINEAGE
from tests.scaleway.test_provider_sim import count_by_address
from vmware2scw.desired import Desired, DesiredResource, ProviderBlock
from vmware2scw.plan import Action, PlanOptions
from vmware2scw.plan.planner import make_plan
from vmware2scw.refresh import refresh
from vmware2scw.state.local import LocalBackend
from vmware2scw.state.manager import StateManager
from vmware2scw.state.model import State
from vmware2scw.walker import WalkOptions, walk

pytestmark = pytest.mark.lab


def chain(name: str, qcow2: Path, bucket: str) -> dict[str, DesiredResource]:
    m = f"migration.{name}"
    sha = hashlib.sha256(qcow2.read_bytes()).hexdigest()
    spec = {
        f"{m}.s3_object[0]": ("s3_object", {
            "source_path": str(qcow2), "source_sha256": sha, "bucket": bucket,
            "key": f"{LINEAGE[:8]}/{name}/disk0.qcow2", "region": "fr-par"}, set()),
        f"{m}.scw_snapshot[0]": ("scw_snapshot", {
            "name": f"{name}-disk0", "zone": "fr-par-1", "bucket": bucket,
            "key": f"${{{m}.s3_object[0].key}}", "size_bytes": 2**30, "tags": ["v2s"]},
            {f"{m}.s3_object[0]"}),
        f"{m}.scw_image": ("scw_image", {
            "name": name, "zone": "fr-par-1", "arch": "x86_64",
            "root_snapshot_id": f"${{{m}.scw_snapshot[0].id}}", "extra_snapshot_ids": [],
            "tags": ["v2s"]}, {f"{m}.scw_snapshot[0]"}),
        f"{m}.scw_server": ("scw_server", {
            "name": name, "zone": "fr-par-1", "commercial_type": "DEV1-S",
            "image_id": f"${{{m}.scw_image.id}}", "tags": ["v2s"], "security_group": None,
            "public_ip": True, "private_networks": [], "power_on": True, "verify_tcp": [],
            "source_cpus": 1, "source_memory_mb": 2048}, {f"{m}.scw_image"}),
    }
    return {a: DesiredResource(address=a, type=t, provider="scaleway", attributes=attrs,
                               depends_on=frozenset(deps), transient=RESOURCE_TYPES[t].transient,
                               migration=name)
            for a, (t, attrs, deps) in spec.items()}


def test_plan_apply_noop_destroy_through_the_engine(
    provider: ScalewayProvider, sim: Simulator, s3_server: MotoS3Server, bucket: str,
    qcow2: Path, tmp_path: Path,
) -> None:
    resources: dict[str, DesiredResource] = {}
    names = ("eng-01", "eng-02", "eng-03")
    for n in names:
        resources.update(chain(n, qcow2, bucket))
    want = Desired(resources=resources,
                   providers={"scaleway": ProviderBlock(local_name="scaleway", source="scaleway")},
                   config_digest="sha256:x", source_digests=dict.fromkeys(names, "1"))
    provs = {"scaleway": provider}
    sm = StateManager(LocalBackend(tmp_path / "v2s.state.json"), state=State(lineage=LINEAGE))
    # one retry level: a fault in any request retries that resource's whole (resumable)
    # apply, so at 10 % of requests failing a server needs more tries than the default
    opts = WalkOptions(work_dir=tmp_path / "work", desired=want, handle_sigint=False,
                       backoff_base=0.01, backoff_cap=0.05, max_attempts=30)
    sim.set_faults(Faults(rate_429=0.05, rate_503=0.03, rate_reset=0.02, seed=11))
    plan = make_plan(want, sm.state, provs, PlanOptions())
    assert sum(1 for c in plan.changes if c.action is Action.CREATE) == 12
    result = walk(plan, sm, provs, opts)
    faults = dict(sim.faults.counts)
    sim.set_faults(None)
    assert result.ok, [(o.address, o.status) for o in result.outcomes] + list(result.diagnostics)
    assert faults["429"] + faults["503"] + faults["reset"] > 0, faults
    counts = count_by_address(sim)
    assert len(counts) == 12 and set(counts.values()) == {1}, counts  # no duplicates
    assert "Contents" not in s3_server.client().list_objects_v2(Bucket=bucket)  # transient gone
    text = (tmp_path / "v2s.state.json").read_text()
    assert sim.account.secret_key not in text and sim.account.access_key not in text

    refreshed, diags = refresh(sm.state, provs)
    assert not [d for d in diags if d.severity == "error"], diags
    again = make_plan(want, refreshed, provs, PlanOptions(), recorded=sm.state)
    changed = [(c.address, c.action) for c in again.changes if c.action is not Action.NOOP]
    assert changed == [], changed
    # an image makes its snapshots `in_use`: healthy, so not reported as drift
    drifted = [(c.address, c.replace_paths, c.before, c.after) for c in again.drift]
    assert drifted == [], drifted

    gone = make_plan(want, refreshed, provs, PlanOptions(destroy=True))
    result = walk(gone, sm, provs, opts)
    assert result.ok, [(o.address, o.status) for o in result.outcomes]
    with sim.store.lock:
        left = [o for kind in ("snapshots", "images", "servers", "volumes", "ips")
                for o in getattr(sim.store, kind).values()
                if any(str(t).startswith("v2s-lineage=") for t in o.get("tags", []))]
    assert left == []
    assert StateManager.load(LocalBackend(tmp_path / "v2s.state.json")).state.resources == {}
    assert sim.store.volumes == {}  # the servers' Block volumes (untagged by Scaleway) too
