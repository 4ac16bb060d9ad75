"""The provider through its protocol against moto + the Scaleway simulator."""

from __future__ import annotations

import functools
import hashlib
import threading
from pathlib import Path

import pytest
from v2s_scaleway.provider import ScalewayProvider

from tests.lab.s3 import MotoS3Server
from tests.lab.scwsim import Faults, Simulator
from tests.scaleway.chain import TYPES, addresses, apply_chain, desired, destroy_chain
from tests.scaleway.conftest import LINEAGE
from vmware2scw.errors import TransientError
from vmware2scw.provider import ApplyRequest, ReadRequest, ResourceRef
from vmware2scw.retry import RetryPolicy
from vmware2scw.testing import RecordingContext

pytestmark = pytest.mark.lab
NOTHING = {"snapshots": [], "images": [], "servers": [], "ips": [], "volumes": []}


def v2s_objects(sim: Simulator) -> dict[str, list[str]]:
    """Ids of everything v2s made: tagged snapshots/images/servers, and every volume."""
    st = sim.store
    with st.lock:
        out = {
            kind: sorted(i for i, o in getattr(st, kind).items()
                         if any(str(t).startswith("v2s-lineage=") for t in o.get("tags", [])))
            for kind in ("snapshots", "images", "servers", "ips")
        }
        out["volumes"] = sorted(st.volumes)  # a fresh simulator has none of its own
        return out


def test_full_chain_then_destroy_leaves_nothing(
    provider: ScalewayProvider, sim: Simulator, s3_server: MotoS3Server, bucket: str,
    qcow2: Path,
) -> None:
    want = desired("web-01", qcow2, bucket, LINEAGE, volume_type="sbs_15k")
    state = apply_chain(provider, "web-01", want, LINEAGE)
    addr = addresses("web-01")
    srv = state[addr["scw_server"]]
    assert srv["state"] == "running" and srv["id"] and srv["volume_ids"]
    with sim.store.lock:  # the server's Block volumes carry lineage + address too
        vol_tags = [sim.store.volumes[v]["tags"] for v in srv["volume_ids"]]
    assert all(f"v2s-address={addr['scw_server']}" in t for t in vol_tags), vol_tags
    assert srv["monthly_price"] and srv["monthly_price"] > 0
    with sim.store.lock:  # a flexible (tagged) IP, not a dynamic one
        ips = [i for i in sim.store.ips.values()
               if f"v2s-address={addr['scw_server']}" in i.get("tags", [])]
    assert [i["address"] for i in ips] == [srv["public_ip_address"]]
    assert state[addr["scw_snapshot"]]["status"] == "available"
    obj = state[addr["s3_object"]]
    body = s3_server.client().get_object(Bucket=bucket, Key=obj["key"])["Body"].read()
    assert hashlib.sha256(body).hexdigest() == obj["sha256"]

    refs = tuple(ResourceRef(address=a, type=a.rsplit(".", 1)[1].split("[")[0],
                             attributes=state[a]) for a in state)
    sim.log.clear()
    read = provider.read(ReadRequest(resources=refs))
    assert all(read.attributes[a] is not None for a in state)
    assert read.attributes[addr["scw_server"]]["state"] == "running"
    gets = [p for m, p, _ in sim.log if m == "GET"]
    assert len(gets) <= 8, gets  # one listing per type (+ a final empty page), no per-object GET

    destroy_chain(provider, state, LINEAGE)
    assert v2s_objects(sim) == NOTHING
    assert "Contents" not in s3_server.client().list_objects_v2(Bucket=bucket)
    read = provider.read(ReadRequest(resources=refs))
    assert all(v is None for v in read.attributes.values())


def count_by_address(sim: Simulator) -> dict[tuple[str, str], int]:
    """(kind, v2s-address) -> number of objects carrying that address tag."""
    counts: dict[tuple[str, str], int] = {}
    st = sim.store
    with st.lock:
        for kind in ("snapshots", "images", "servers", "ips"):
            for o in getattr(st, kind).values():
                for t in o.get("tags", []):
                    if str(t).startswith("v2s-address="):
                        key = (kind, str(t))
                        counts[key] = counts.get(key, 0) + 1
    return counts


def test_three_vms_under_10_percent_faults_make_no_duplicates(
    provider: ScalewayProvider, sim: Simulator, s3_server: MotoS3Server, bucket: str,
    qcow2: Path,
) -> None:
    """Acceptance: 429 / 503 / reset on 10 % of requests; every object exists exactly once."""
    sim.set_faults(Faults(rate_429=0.04, rate_503=0.03, rate_reset=0.03, seed=6))
    names = ["app-01", "app-02", "app-03"]
    states: dict[str, dict] = {}
    errors: list[BaseException] = []

    # the walker's one retry level, per resource: at 10 % of requests failing, a
    # resource needs more tries than the default policy gives
    policy = RetryPolicy(max_attempts=30, base=0.01, cap=0.05)

    def run(name: str) -> None:
        want = desired(name, qcow2, bucket, LINEAGE)
        state = states.setdefault(name, {})

        def step(typ: str) -> None:
            try:
                apply_chain(provider, name, want, LINEAGE, state, types=(typ,))
            except TransientError as exc:
                errors.append(exc)
                raise

        for typ in TYPES:
            policy.call(functools.partial(step, typ), f"{name} {typ}")

    threads = [threading.Thread(target=run, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    faults = dict(sim.faults.counts)
    sim.set_faults(None)
    assert all(len(states.get(n, {})) == 4 for n in names), (states, errors)
    counts = count_by_address(sim)
    assert len(counts) == 12 and set(counts.values()) == {1}, counts
    assert faults["429"] and faults["503"] and faults["reset"], faults
    print(f"faults served: {faults}; transient errors surfaced to the walker: {len(errors)}")
    for n in names:
        assert states[n][addresses(n)["scw_server"]]["state"] == "running"
    for n in names:
        destroy_chain(provider, states[n], LINEAGE)
    assert v2s_objects(sim) == NOTHING


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


class CrashingContext(RecordingContext):
    def checkpoint(self, data: dict) -> None:
        raise Crash("killed right after the create call, before state was saved")


@pytest.mark.parametrize("typ", ["scw_snapshot", "scw_image", "scw_server"])
def test_crash_after_create_is_healed_by_tag_adoption(
    provider: ScalewayProvider, sim: Simulator, bucket: str, qcow2: Path, typ: str,
) -> None:
    """Acceptance: the object made before the crash is adopted on the next run."""
    name = "crash-01"
    want = desired(name, qcow2, bucket, LINEAGE)
    addr = addresses(name)
    order = ("s3_object", "scw_snapshot", "scw_image", "scw_server")
    state = apply_chain(provider, name, want, LINEAGE, {}, types=order[:order.index(typ)])
    attrs = dict(want[typ])
    if typ == "scw_image":
        attrs["root_snapshot_id"] = state[addr["scw_snapshot"]]["id"]
    if typ == "scw_server":
        attrs["image_id"] = state[addr["scw_image"]]["id"]
    before = count_by_address(sim)
    with pytest.raises(Crash):
        provider.apply(ApplyRequest(address=addr[typ], type=typ, prior=None, planned=attrs),
                       CrashingContext(addr[typ], lineage=LINEAGE))
    kind = {"scw_snapshot": "snapshots", "scw_image": "images", "scw_server": "servers"}[typ]
    assert count_by_address(sim).get((kind, f"v2s-address={addr[typ]}")) == 1, before
    # next run: state knows nothing about it (prior None, no checkpoint)
    healed = apply_chain(provider, name, want, LINEAGE, state)
    counts = count_by_address(sim)
    assert counts[(kind, f"v2s-address={addr[typ]}")] == 1
    assert set(counts.values()) == {1}
    destroy_chain(provider, healed, LINEAGE)
    assert v2s_objects(sim) == NOTHING


def test_sigkill_right_after_server_create_is_adopted_by_the_next_process(
    provider: ScalewayProvider, sim: Simulator, bucket: str, qcow2: Path, tmp_path: Path,
) -> None:
    """Acceptance, with a real process death: no duplicate server after the rerun."""
    import json
    import os
    import signal
    import subprocess
    import sys

    name = "kill-01"
    want = desired(name, qcow2, bucket, LINEAGE)
    addr = addresses(name)["scw_server"]
    state = apply_chain(provider, name, want, LINEAGE,
                        types=("s3_object", "scw_snapshot", "scw_image"))
    planned = {**want["scw_server"], "image_id": state[addresses(name)["scw_image"]]["id"]}
    spec = {"settings": {"poll_interval": 0.05}, "lineage": LINEAGE, "work_dir": str(tmp_path),
            "address": addr, "type": "scw_server", "planned": planned}
    env = {**os.environ, **sim.env, "SCW_CONFIG_PATH": str(tmp_path / "none.yaml"),
           "PYTHONPATH": f"{Path.cwd()}:{Path.cwd() / 'providers'}"}
    child = subprocess.run([sys.executable, "-m", "tests.scaleway.crash_child", json.dumps(spec)],
                           env=env, timeout=120, capture_output=True, text=True)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    key = ("servers", f"v2s-address={addr}")
    assert count_by_address(sim)[key] == 1
    res = provider.apply(ApplyRequest(address=addr, type="scw_server", prior=None,
                                      planned=planned), RecordingContext(addr, lineage=LINEAGE))
    assert count_by_address(sim)[key] == 1 and res.attributes["state"] == "running"
    state[addr] = res.attributes
    destroy_chain(provider, state, LINEAGE)
    assert v2s_objects(sim) == NOTHING
