"""Walker behaviour: bounds, failure isolation, retries, transients, state after failures."""

from __future__ import annotations

import json
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
from vmware2scw.plan.action import Action
from vmware2scw.progress import Event, EventKind
from vmware2scw.state.model import State, Status
from vmware2scw.walker import WalkOptions, walk


def opts(tmp_path: Path, **kw: object) -> WalkOptions:
    kw.setdefault("backoff_base", 0.001)
    return WalkOptions(work_dir=tmp_path / "work", handle_sigint=False, **kw)  # type: ignore[arg-type]


def test_parallelism_bound_is_never_exceeded(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, delay=0.03)
    plan = plan_of([change(f"migration.m{i:02d}.scw_server", "scw_server") for i in range(24)])
    result = walk(plan, MemoryStateManager(), {"test": prov}, opts(tmp_path, parallelism=4))
    assert result.ok, result.diagnostics
    assert prov.peak == 4  # reached, never exceeded
    assert result.count("ok") == 24


def test_per_kind_limits_hold(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, delay=0.03)
    changes = [change(f"migration.m{i:02d}.disk_export[0]", "disk_export") for i in range(10)]
    changes += [change(f"migration.m{i:02d}.scw_server", "scw_server") for i in range(10)]
    result = walk(plan_of(changes), MemoryStateManager(), {"test": prov},
                  opts(tmp_path, parallelism=6, limits={"export": 2}))
    assert result.ok, result.diagnostics
    assert prov.peak_kind["export"] == 2
    assert prov.peak <= 6
    assert prov.peak_kind["api"] >= 3  # the other kind kept the pool busy


def test_failure_skips_dependents_and_independent_branches_finish(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, fail=["migration.a.qcow2_artifact[0]"])
    sm = MemoryStateManager()
    result = walk(plan_of(chain("a") + chain("b")), sm, {"test": prov}, opts(tmp_path))
    assert not result.ok
    by = {(o.address, o.operation): o for o in result.outcomes}
    assert by[("migration.a.qcow2_artifact[0]", "apply")].status == "failed"
    for addr in ("s3_object[0]", "scw_snapshot[0]", "scw_image", "scw_server"):
        assert by[(f"migration.a.{addr}", "apply")].status == "skipped"
        assert f"migration.a.{addr}" not in prov.order  # never attempted
    assert all(o.status == "ok" for (a, _), o in by.items() if a.startswith("migration.b."))
    # follow-on errors are hidden: one error diagnostic, for the failed node only
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [d.address for d in errors] == ["migration.a.qcow2_artifact[0]"]
    # state holds every finished resource
    res = sm.state.resources
    assert res["migration.a.vmware_snapshot"].status is Status.CREATED  # kept: dependents failed
    assert res["migration.a.disk_export[0]"].status is Status.CREATED
    assert res["migration.a.qcow2_artifact[0]"].status is Status.TAINTED
    assert "migration.a.s3_object[0]" not in res
    assert res["migration.b.scw_server"].status is Status.CREATED
    assert res["migration.b.vmware_snapshot"].status is Status.TRANSIENT_DONE
    for text in sm.history:  # every persisted state parses
        State.model_validate_json(text)


def test_transients_become_tombstones_with_outputs(tmp_path: Path) -> None:
    prov = make_provider(tmp_path)
    sm = MemoryStateManager()
    result = walk(plan_of(chain("a", disks=2)), sm, {"test": prov}, opts(tmp_path))
    assert result.ok, result.diagnostics
    for addr, rec in sm.state.resources.items():
        if rec.transient:
            assert rec.status is Status.TRANSIENT_DONE, addr
            assert rec.attributes, addr  # outputs kept
        else:
            assert rec.status is Status.CREATED, addr
    live = {o["address"] for o in store_objects(tmp_path) if not o["deleted"]}
    assert live == {"migration.a.scw_snapshot[0]", "migration.a.scw_snapshot[1]",
                    "migration.a.scw_image", "migration.a.scw_server"}
    # references were resolved from state at apply time
    image_id = sm.state.resources["migration.a.scw_image"].attributes["id"]
    assert prov.planned_seen["migration.a.scw_server"]["image_id"] == image_id
    exports = [sm.state.resources[f"migration.a.disk_export[{k}]"].attributes["path"]
               for k in range(2)]
    assert prov.planned_seen["migration.a.qcow2_artifact[1]"]["disks"] == exports


def test_transient_errors_are_retried_with_backoff(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, transient_failures={"*.scw_image": 2, "*.scw_server": 9})
    events: list[Event] = []
    result = walk(plan_of(chain("a")), MemoryStateManager(), {"test": prov},
                  opts(tmp_path, max_attempts=4, on_event=events.append))
    by = {(o.address, o.operation): o for o in result.outcomes}
    assert by[("migration.a.scw_image", "apply")].status == "ok"
    assert by[("migration.a.scw_image", "apply")].attempts == 3
    assert by[("migration.a.scw_server", "apply")].status == "failed"
    assert by[("migration.a.scw_server", "apply")].attempts == 4
    retries = [e for e in events if e.kind is EventKind.RETRY]
    assert len(retries) == 2 + 3


def test_permanent_errors_are_not_retried(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, fail=["*.scw_server"])
    result = walk(plan_of(chain("a")), MemoryStateManager(), {"test": prov}, opts(tmp_path))
    out = {(o.address, o.operation): o for o in result.outcomes}
    assert out[("migration.a.scw_server", "apply")].attempts == 1


def test_ready_work_starts_in_priority_then_address_order(tmp_path: Path) -> None:
    prov = make_provider(tmp_path)
    changes = [change("migration.c.scw_server", "scw_server", priority=2),
               change("migration.b.scw_server", "scw_server", priority=1),
               change("migration.a.scw_server", "scw_server", priority=2),
               change("migration.z.scw_server", "scw_server", priority=0)]
    walk(plan_of(changes), MemoryStateManager(), {"test": prov}, opts(tmp_path, parallelism=1))
    assert prov.order == ["migration.z.scw_server", "migration.b.scw_server",
                          "migration.a.scw_server", "migration.c.scw_server"]


def test_checkpoints_are_persisted_at_once(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, progress_steps=3)
    sm = MemoryStateManager()
    events: list[Event] = []
    result = walk(plan_of([change("migration.a.disk_export[0]", "disk_export")]), sm,
                  {"test": prov}, opts(tmp_path, on_event=events.append))
    assert result.ok
    seen = [json.loads(t)["resources"]["migration.a.disk_export[0]"] for t in sm.history]
    assert [s["checkpoint"] for s in seen if s["checkpoint"]] == [
        {"step": 1}, {"step": 2}, {"step": 3}]
    assert seen[0]["status"] == "tainted" and seen[-1]["status"] == "created"
    assert seen[-1]["checkpoint"] is None
    progress = [e for e in events if e.kind is EventKind.PROGRESS]
    assert progress[-1].done == progress[-1].total
    assert result.outcomes[0].bytes == progress[-1].total


def test_resume_passes_checkpoint_and_adopts(tmp_path: Path) -> None:
    prov = make_provider(tmp_path, progress_steps=4)
    sm = MemoryStateManager()
    walk(plan_of([change("migration.a.disk_export[0]", "disk_export")]), sm, {"test": prov},
         opts(tmp_path))
    rec = sm.state.resources["migration.a.disk_export[0]"]
    # pretend the first run died after step 2: tainted with a checkpoint, object gone
    sm.persist(sm.state.with_resource(rec.model_copy(
        update={"status": Status.TAINTED, "checkpoint": {"step": 2}})))
    walk(plan_of([change("migration.a.disk_export[0]", "disk_export")]), sm, {"test": prov},
         opts(tmp_path))
    assert ("adopt", "migration.a.disk_export[0]") in prov.calls
    creates = [c for c in prov.calls if c == ("create", "migration.a.disk_export[0]")]
    assert len(creates) == 1
    assert sm.state.resources["migration.a.disk_export[0]"].status is Status.CREATED


def test_sensitive_attributes_reach_the_provider_but_never_state(tmp_path: Path) -> None:
    from vmware2scw.desired import Desired, DesiredResource

    prov = make_provider(tmp_path)
    sm = MemoryStateManager()
    desired = Desired(resources={"migration.a.scw_server": DesiredResource(
        address="migration.a.scw_server", type="scw_server", provider="test",
        attributes={"name": "a", "secret": "hunter2-s3cr3t"})})
    walk(plan_of([change("migration.a.scw_server", "scw_server")]), sm, {"test": prov},
         opts(tmp_path, desired=desired))
    assert prov.planned_seen["migration.a.scw_server"]["secret"] == "hunter2-s3cr3t"
    assert all("hunter2-s3cr3t" not in text for text in sm.history)
    assert "hunter2-s3cr3t" not in (tmp_path / "cloud.json").read_text()


def test_destroy_runs_in_reverse_dependency_order(tmp_path: Path) -> None:
    prov = make_provider(tmp_path)
    sm = MemoryStateManager()
    walk(plan_of(chain("a")), sm, {"test": prov}, opts(tmp_path))
    deletes = [change(a, r.type, action=Action.DELETE, depends_on=r.dependencies,
                      transient=r.transient) for a, r in sm.state.resources.items()]
    prov.calls.clear()
    result = walk(plan_of(deletes, options={"destroy": True}), sm, {"test": prov},
                  opts(tmp_path, parallelism=1))
    assert result.ok, result.diagnostics
    assert sm.state.resources == {}
    order = [a for verb, a in prov.calls if verb == "delete"]
    # tombstones need no provider call (except vmware_snapshot's, which undoes a cold
    # cutover); kept resources go server -> image -> snapshot -> ... -> vmware snapshot
    assert order == ["migration.a.scw_server", "migration.a.scw_image",
                     "migration.a.scw_snapshot[0]", "migration.a.vmware_snapshot"]
    assert not [o for o in store_objects(tmp_path) if not o["deleted"]]


def test_prevent_destroy_refuses_before_any_work(tmp_path: Path) -> None:
    prov = make_provider(tmp_path)
    plan = plan_of([change("migration.a.scw_server", "scw_server", action=Action.DELETE,
                           prevent_destroy=True)])
    result = walk(plan, MemoryStateManager(), {"test": prov}, opts(tmp_path))
    assert not result.ok
    assert "prevent_destroy" in result.diagnostics[0].summary
    assert prov.calls == []


def test_resource_work_dirs_are_private(tmp_path: Path) -> None:
    prov = make_provider(tmp_path)
    walk(plan_of(chain("a")), MemoryStateManager(), {"test": prov}, opts(tmp_path))
    dirs = [p for p in (tmp_path / "work").rglob("*") if p.is_dir()] + [tmp_path / "work"]
    assert len(dirs) > 3
    assert all(p.stat().st_mode & 0o777 == 0o700 for p in dirs), dirs


@pytest.mark.parametrize("parallelism", [1, 3])
def test_update_in_place_keeps_created_status(tmp_path: Path, parallelism: int) -> None:
    prov = make_provider(tmp_path)
    sm = MemoryStateManager()
    walk(plan_of([change("migration.a.scw_server", "scw_server")]), sm, {"test": prov},
         opts(tmp_path))
    upd = change("migration.a.scw_server", "scw_server", action=Action.UPDATE,
                 config={"name": "renamed"})
    walk(plan_of([upd]), sm, {"test": prov}, opts(tmp_path, parallelism=parallelism))
    rec = sm.state.resources["migration.a.scw_server"]
    assert rec.attributes["name"] == "renamed" and rec.status is Status.CREATED
    assert all(json.loads(t)["resources"]["migration.a.scw_server"]["status"] == "created"
               for t in sm.history[2:])


def test_a_state_write_failure_stops_new_work(tmp_path: Path) -> None:
    from vmware2scw.errors import StateError

    class Broken(MemoryStateManager):
        def update(self, change):  # type: ignore[no-untyped-def]
            if len(self.history) >= 3:
                raise StateError("disk full")
            return super().update(change)

    prov = make_provider(tmp_path)
    plan = plan_of([change(f"migration.m{i}.scw_server", "scw_server") for i in range(6)])
    result = walk(plan, Broken(), {"test": prov}, opts(tmp_path, parallelism=1))
    assert not result.ok and not result.interrupted
    assert result.count("failed") == 1 and result.count("not-started") == 4
    assert "could not be saved" in result.diagnostics[0].detail


def test_a_dependency_cycle_is_a_diagnostic_not_a_dropped_edge(tmp_path: Path) -> None:
    prov = make_provider(tmp_path)
    a, b, c = ("migration.a.scw_image", "migration.a.scw_server", "migration.a.scw_snapshot[0]")
    plan = plan_of([change(a, "scw_image", depends_on=(b,)),
                    change(b, "scw_server", depends_on=(a,)),
                    change(c, "scw_snapshot"),
                    change("migration.b.scw_server", "scw_server", depends_on=(b,))])
    result = walk(plan, MemoryStateManager(), {"test": prov}, opts(tmp_path))
    assert not result.ok
    (diag,) = [d for d in result.diagnostics if "cycle" in d.summary]
    assert f"apply:{a}" in diag.summary and f"apply:{b}" in diag.summary
    by = {o.address: o.status for o in result.outcomes}
    assert by[a] == by[b] == "failed"  # neither ran without its dependency
    assert by["migration.b.scw_server"] == "skipped"
    assert by[c] == "ok"  # what is outside the cycle still runs
    assert a not in prov.order and b not in prov.order
