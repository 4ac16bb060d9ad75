"""One retry level against the simulator: a failing call is one request, the walker retries it;
a Scaleway wait ends at once when the run is cancelled."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from v2s_scaleway.client import ApiTransientError, MaybeAppliedError, ScalewayClient
from v2s_scaleway.provider import ScalewayProvider
from v2s_scaleway.settings import ScalewaySettings, resolve_credentials

from tests.lab.s3 import ACCESS_KEY, SECRET_KEY, MotoS3Server
from tests.lab.scwsim import Faults, Simulator
from tests.scaleway.chain import addresses, apply_chain, desired
from tests.scaleway.conftest import LINEAGE, configure
from tests.walker.helpers import MemoryStateManager
from vmware2scw.errors import TransientError
from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.model import Plan, ResourceChange
from vmware2scw.provider import ApplyRequest, PlanRequest
from vmware2scw.state.model import ResourceState, State
from vmware2scw.testing import RecordingContext
from vmware2scw.walker import WalkOptions, walk

pytestmark = pytest.mark.lab
ZONE = "fr-par-1"
SNAP_ID = "11111111-0000-4000-8000-000000000001"


def client(sim: Simulator, tmp_path: Path, **settings: object) -> ScalewayClient:
    st = ScalewaySettings(api_url=sim.env["SCW_API_URL"], zone=ZONE, backoff_base=0.001,
                          **settings)  # type: ignore[arg-type]
    env = {**sim.env, "SCW_CONFIG_PATH": str(tmp_path / "none.yaml")}
    return ScalewayClient(resolve_credentials(st, environ=env), st)


def test_a_failing_call_reaches_the_server_once_per_try(sim: Simulator, tmp_path: Path) -> None:
    api = client(sim, tmp_path, max_retries=3)
    sim.set_faults(Faults(rate_503=1.0, path=r"/snapshots$", methods=("GET",)))
    with pytest.raises(ApiTransientError) as err:
        api.block.list_snapshots(zone=ZONE, include_deleted=False)
    assert err.value.status == 503 and sim.faults.counts["503"] == 1  # no retry in the client
    sim.set_faults(Faults(rate_429=1.0, path=r"/import-from-object-storage$", methods=("POST",)))
    with pytest.raises(ApiTransientError) as err:
        api.block.import_snapshot_from_object_storage(bucket="b", key="k", name="n", zone=ZONE)
    assert not isinstance(err.value, MaybeAppliedError) and sim.faults.counts["429"] == 1
    # a lost answer: a safe method is retried by the transport (idempotent), a POST is not
    sim.set_faults(Faults(rate_reset=1.0, path=r"/snapshots$", methods=("GET",)))
    with pytest.raises(ApiTransientError):
        api.block.list_snapshots(zone=ZONE, include_deleted=False)
    assert sim.faults.counts["reset"] == 1 + 3
    sim.set_faults(Faults(rate_reset=1.0, path=r"/import-from-object-storage$", methods=("POST",)))
    with pytest.raises(MaybeAppliedError):
        api.block.import_snapshot_from_object_storage(bucket="b", key="k", name="n", zone=ZONE)
    assert sim.faults.counts["reset"] == 1
    sim.set_faults(None)


def test_the_walker_is_the_only_retry_of_an_answered_failure(
    sim: Simulator, provider: ScalewayProvider, tmp_path: Path,
) -> None:
    address = "migration.x.scw_snapshot[0]"
    record = ResourceState(address=address, type="scw_snapshot", provider="scaleway",
                           attributes={"id": SNAP_ID, "zone": ZONE}, migration="x")
    state = State(lineage=LINEAGE).with_resource(record)
    plan = Plan(lineage=LINEAGE, serial=0, changes=(ResourceChange(
        address=address, type="scw_snapshot", provider="scaleway", action=Action.DELETE,
        reason=Reason.DESTROY, before=record.attributes, after=None, migration="x"),))

    sim.set_faults(Faults(rate_503=1.0, path=rf"/snapshots/{SNAP_ID}$", methods=("DELETE",)))
    result = walk(plan, MemoryStateManager(state), {"scaleway": provider},
                  WalkOptions(work_dir=tmp_path / "work", handle_sigint=False, max_attempts=3,
                              backoff_base=0.001))
    assert [(o.status, o.attempts) for o in result.outcomes] == [("failed", 3)]
    assert sim.faults.counts["503"] == 3  # 3 tries x 1 request: no retry nested inside
    sim.set_faults(None)


def test_cancel_ends_a_snapshot_import_wait_at_once(
    s3_server: MotoS3Server, bucket: str, qcow2: Path, tmp_path: Path,
) -> None:
    with Simulator(s3_endpoint=s3_server.endpoint_url, s3_access_key=ACCESS_KEY,
                   s3_secret_key=SECRET_KEY, speed=100) as sim:
        prov = configure(sim, s3_server, bucket, tmp_path, poll_interval=60.0)
        want = desired("cancel-01", qcow2, bucket, LINEAGE)
        apply_chain(prov, "cancel-01", want, LINEAGE, types=("s3_object",))
        sim.clock.set_speed(0.0)  # the import never finishes
        address = addresses("cancel-01")["scw_snapshot"]
        planned = prov.plan(PlanRequest(address=address, type="scw_snapshot", prior=None,
                                        desired=want["scw_snapshot"])).planned
        ctx = RecordingContext(address, lineage=LINEAGE)
        cancel = threading.Timer(0.5, ctx.cancelled.set)
        cancel.start()
        began = time.monotonic()
        with pytest.raises(TransientError, match="cancelled while waiting"):
            prov.apply(ApplyRequest(address=address, type="scw_snapshot", prior=None,
                                    planned={**planned, **want["scw_snapshot"]}), ctx)
        waited = time.monotonic() - began
        cancel.join()
        assert waited < 0.5 + 5.0 < 60.0  # ended by the cancel, not by the next poll
        assert ctx.checkpoints and ctx.checkpoints[-1]["id"]  # the next run waits for it
        prov.close()
