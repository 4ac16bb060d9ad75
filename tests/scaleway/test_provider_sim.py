"""The provider through its protocol against moto + the Scaleway simulator."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.lab.s3 import MotoS3Server
from tests.lab.scwsim import Faults, Simulator
from tests.scaleway.chain import addresses, apply_chain, desired, destroy_chain
from tests.scaleway.conftest import LINEAGE
from tests.scaleway.fakes import FakeContext
from v2s_scaleway.provider import ScalewayProvider
from vmware2scw.provider import ApplyRequest, ReadRequest, ResourceRef

pytestmark = pytest.mark.lab


def v2s_objects(sim: Simulator) -> dict[str, list[str]]:
    """Ids of everything in the simulator that carries a v2s lineage tag."""
    st = sim.store
    with st.lock:
        return {
            kind: sorted(i for i, o in getattr(st, kind).items()
                         if any(str(t).startswith("v2s-lineage=") for t in o.get("tags", [])))
            for kind in ("snapshots", "images", "servers", "volumes")
        }


def test_full_chain_then_destroy_leaves_nothing(
    provider: ScalewayProvider, sim: Simulator, s3_server: MotoS3Server, bucket: str,
    qcow2: Path,
) -> None:
    want = desired("web-01", qcow2, bucket, LINEAGE)
    state = apply_chain(provider, "web-01", want, LINEAGE)
    addr = addresses("web-01")
    srv = state[addr["scw_server"]]
    assert srv["state"] == "running" and srv["id"] and srv["volume_ids"]
    assert srv["monthly_price"] and srv["monthly_price"] > 0
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
    assert v2s_objects(sim) == {"snapshots": [], "images": [], "servers": [], "volumes": []}
    assert "Contents" not in s3_server.client().list_objects_v2(Bucket=bucket)
    read = provider.read(ReadRequest(resources=refs))
    assert all(v is None for v in read.attributes.values())
