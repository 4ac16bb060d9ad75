"""Replace orders, tainted resume, planner-made cleanups and crash-safe tombstones."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.walker.helpers import (
    MemoryStateManager,
    chain,
    change,
    make_provider,
    plan_of,
    store_objects,
)
from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.model import PlanOptions
from vmware2scw.state.model import Status
from vmware2scw.walker import CLEANUP_PENDING, WalkOptions, walk


def opts(tmp_path: Path, **kw: object) -> WalkOptions:
    return WalkOptions(work_dir=tmp_path / "w", handle_sigint=False, **kw)  # type: ignore[arg-type]


def _live(tmp_path: Path, address: str) -> list[dict]:
    return [o for o in store_objects(tmp_path) if o["address"] == address and not o["deleted"]]


def test_create_then_delete_keeps_the_old_object_until_the_new_one_exists(
        tmp_path: Path) -> None:
    prov = make_provider(tmp_path, create_before_destroy=["scw_server"])
    sm = MemoryStateManager()
    addr = "migration.a.scw_server"
    walk(plan_of([change(addr, "scw_server", config={"name": "a", "zone": "fr-par-1"})]), sm,
         {"test": prov}, opts(tmp_path))
    old_id = sm.state.resources[addr].attributes["id"]
    prov.calls.clear()
    new = change(addr, "scw_server", action=Action.CREATE_THEN_DELETE,
                 reason=Reason.FORCE_NEW, config={"name": "a", "zone": "fr-par-2"})
    result = walk(plan_of([new]), sm, {"test": prov}, opts(tmp_path))
    assert result.ok, result.diagnostics
    assert [v for v, a in prov.calls if v in ("create", "delete")] == ["create", "delete"]
    rec = sm.state.resources[addr]
    assert rec.status is Status.CREATED and rec.attributes["zone"] == "fr-par-2"
    assert rec.attributes["id"] != old_id
    assert [o["attributes"]["id"] for o in _live(tmp_path, addr)] == [rec.attributes["id"]]


def test_delete_then_create_deletes_first(tmp_path: Path) -> None:
    prov = make_provider(tmp_path)
    sm = MemoryStateManager()
    addr = "migration.a.scw_server"
    walk(plan_of([change(addr, "scw_server", config={"name": "a", "zone": "fr-par-1"})]), sm,
         {"test": prov}, opts(tmp_path))
    prov.calls.clear()
    new = change(addr, "scw_server", action=Action.DELETE_THEN_CREATE,
                 reason=Reason.FORCE_NEW, config={"name": "a", "zone": "fr-par-2"})
    assert walk(plan_of([new]), sm, {"test": prov}, opts(tmp_path)).ok
    verbs = [v for v, a in prov.calls if a == addr and v in ("delete", "create")]
    assert verbs == ["delete", "create"]
    assert len(_live(tmp_path, addr)) == 1


@pytest.mark.parametrize("action", [Action.CREATE, Action.DELETE_THEN_CREATE],
                         ids=["planned-now", "older-plan-file"])
def test_tainted_record_is_resumed_by_adoption_not_recreated(
        tmp_path: Path, action: Action) -> None:
    prov = make_provider(tmp_path)
    sm = MemoryStateManager()
    addr = "migration.a.scw_image"
    walk(plan_of([change(addr, "scw_image")]), sm, {"test": prov}, opts(tmp_path))
    rec = sm.state.resources[addr]
    sm.persist(sm.state.with_resource(rec.model_copy(update={"status": Status.TAINTED})))
    tainted = change(addr, "scw_image", action=action, reason=Reason.TAINTED)
    result = walk(plan_of([tainted]), sm, {"test": prov}, opts(tmp_path))
    assert result.ok and [o.operation for o in result.outcomes] == ["apply"]
    assert ("adopt", addr) in prov.calls and ("delete", addr) not in prov.calls
    assert len(_live(tmp_path, addr)) == 1
    assert sm.state.resources[addr].status is Status.CREATED
    assert sm.state.resources[addr].attributes["id"] == rec.attributes["id"]


def test_planned_cleanup_leaves_a_tombstone(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, fail=["migration.a.scw_snapshot[0]"])
    sm = MemoryStateManager()
    walk(plan_of(chain("a")), sm, {"test": prov}, opts(tmp_path))
    obj = "migration.a.s3_object[0]"
    assert sm.state.resources[obj].status is Status.CREATED  # kept: its dependent failed
    ok = make_provider(tmp_path)
    walk(plan_of([change("migration.a.scw_snapshot[0]", "scw_snapshot")]), sm, {"test": ok},
         opts(tmp_path))
    cleanup = change(obj, "s3_object", action=Action.DELETE, reason=Reason.CLEANUP,
                     transient=True)
    result = walk(plan_of([cleanup]), sm, {"test": ok}, opts(tmp_path))
    assert result.ok and result.outcomes[0].operation == "cleanup"
    rec = sm.state.resources[obj]
    assert rec.status is Status.TRANSIENT_DONE and rec.attributes["etag"]
    assert rec.checkpoint is None
    assert _live(tmp_path, obj) == []


def test_a_cleanup_interrupted_by_a_crash_is_finished_by_the_next_walk(tmp_path: Path) -> None:
    prov = make_provider(tmp_path)
    sm = MemoryStateManager()
    obj = "migration.a.s3_object[0]"
    walk(plan_of([change(obj, "s3_object", transient=True)]), sm, {"test": prov},
         opts(tmp_path))
    rec = sm.state.resources[obj]  # as a kill between the marker and the delete leaves it
    sm.persist(sm.state.with_resource(rec.model_copy(update={
        "status": Status.TRANSIENT_DONE, "checkpoint": {CLEANUP_PENDING: True}})))
    assert len(_live(tmp_path, obj)) == 1
    result = walk(plan_of([]), sm, {"test": prov}, opts(tmp_path))
    assert result.ok and [o.operation for o in result.outcomes] == ["cleanup"]
    assert _live(tmp_path, obj) == []
    assert sm.state.resources[obj].checkpoint is None


def test_failed_cleanup_keeps_the_transient_as_created(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, fail_delete=["migration.a.vmware_snapshot"])
    sm = MemoryStateManager()
    result = walk(plan_of(chain("a")), sm, {"test": prov}, opts(tmp_path))
    assert not result.ok
    rec = sm.state.resources["migration.a.vmware_snapshot"]
    assert rec.status is Status.CREATED and rec.checkpoint is None
    assert sm.state.resources["migration.a.scw_server"].status is Status.CREATED


def test_destroy_calls_delete_on_tombstones_whose_type_asks_for_it(tmp_path: Path) -> None:
    prov = make_provider(tmp_path)
    sm = MemoryStateManager()
    assert walk(plan_of(chain("a")), sm, {"test": prov}, opts(tmp_path)).ok
    snap = "migration.a.vmware_snapshot"
    assert sm.state.resources[snap].status is Status.TRANSIENT_DONE
    assert ("delete", snap, "cleanup") in prov.operations
    assert {op for verb, _, op in prov.operations if verb == "apply"} == {"apply"}
    prov.operations.clear()
    gone = [change(a, r.type, action=Action.DELETE, transient=r.transient,
                   depends_on=r.dependencies)
            for a, r in sm.state.resources.items()]
    result = walk(plan_of(gone, options=PlanOptions(destroy=True)), sm, {"test": prov},
                  opts(tmp_path))
    assert result.ok, result.diagnostics
    assert sm.state.resources == {}
    deleted = {a: op for verb, a, op in prov.operations if verb == "delete"}
    # the snapshot's tombstone goes through the provider (it powers a cold source back on);
    # the other tombstones (disk_export, qcow2_artifact, s3_object) only lose their record
    assert deleted == {snap: "destroy", "migration.a.scw_snapshot[0]": "destroy",
                       "migration.a.scw_image": "destroy", "migration.a.scw_server": "destroy"}



def test_a_pending_cleanup_during_a_targeted_destroy_is_still_a_cleanup(tmp_path: Path) -> None:
    prov = make_provider(tmp_path)
    sm = MemoryStateManager()
    snap, other = "migration.a.vmware_snapshot", "migration.b.scw_server"
    walk(plan_of([change(snap, "vmware_snapshot", transient=True),
                  change(other, "scw_server")]), sm, {"test": prov}, opts(tmp_path))
    rec = sm.state.resources[snap]  # a kill during its cleanup left the marker
    sm.persist(sm.state.with_resource(rec.model_copy(update={
        "status": Status.TRANSIENT_DONE, "checkpoint": {CLEANUP_PENDING: True}})))
    prov.operations.clear()
    gone = change(other, "scw_server", action=Action.DELETE)  # destroy -target b
    result = walk(plan_of([gone], options=PlanOptions(destroy=True)), sm, {"test": prov},
                  opts(tmp_path))
    assert result.ok, result.diagnostics
    # the snapshot's cleanup finishes as a cleanup: a destroy elsewhere must not tell its
    # provider to undo the migration (power a cold-cutover source back on)
    assert sorted(prov.operations) == [("delete", snap, "cleanup"),
                                       ("delete", other, "destroy")]
