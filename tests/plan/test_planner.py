"""Planner semantics on hand-built chains with the test provider."""

from __future__ import annotations

from collections.abc import Mapping

from v2s_test.provider import TestProvider

from tests.plan.chain import chain, desired, providers, simulate_apply
from vmware2scw.desired import Desired
from vmware2scw.diagnostics import Severity
from vmware2scw.plan import Action, Plan, PlanOptions, Reason
from vmware2scw.plan.planner import make_plan
from vmware2scw.provider import ResourceType
from vmware2scw.state.model import State, Status

WEB = "migration.web"


def _applied(want: Desired) -> State:
    first = make_plan(want, State(lineage="L"), providers())
    return simulate_apply(first, State(lineage="L"), want)


def _actions(plan: Plan) -> dict[str, tuple[Action, Reason]]:
    return {c.address: (c.action, c.reason) for c in plan.changes}


def _with_attr(want: Desired, address: str, **attrs: object) -> Desired:
    dr = want.resources[address]
    new = dr.model_copy(update={"attributes": {**dr.attributes, **attrs}})
    return want.model_copy(update={"resources": {**want.resources, address: new}})


def test_fresh_plan_creates_everything_with_unknown_outputs():
    want = desired(chain("web", disks=2))
    plan = make_plan(want, State(lineage="L", serial=4), providers())
    assert plan.lineage == "L" and plan.serial == 4 and plan.config_digest == "sha256:cfg"
    assert {a for a, r in _actions(plan).items()} == set(want.resources)
    assert all(c.action is Action.CREATE and c.reason is Reason.NEW for c in plan.changes)
    server = plan.change(f"{WEB}.scw_server")
    assert server is not None and server.after is not None
    assert "image_id" in server.after_unknown and "id" in server.after_unknown
    assert server.after["image_id"] is None and server.after["commercial_type"] == "PRO2-S"
    qcow = plan.change(f"{WEB}.qcow2_artifact[1]")
    assert qcow is not None and "disks[0]" in qcow.after_unknown
    assert qcow.config is not None and qcow.config["disk_sha256"].startswith("${")
    assert plan.summary().create == len(want.resources)


def test_applied_state_plans_no_op_with_tombstones():
    want = desired(chain("web", disks=2))
    plan = make_plan(want, _applied(want), providers())
    acts = _actions(plan)
    assert acts[f"{WEB}.disk_export[1]"] == (Action.NOOP, Reason.TOMBSTONE)
    assert acts[f"{WEB}.scw_server"] == (Action.NOOP, Reason.NONE)
    assert not plan.has_changes


def test_in_place_update_touches_only_the_changed_resource():
    want = desired(chain("web"))
    state = _applied(want)
    plan = make_plan(_with_attr(want, f"{WEB}.scw_server", commercial_type="PRO2-M"),
                     state, providers())
    changed = {a: r for a, r in _actions(plan).items() if r[0] is not Action.NOOP}
    assert changed == {f"{WEB}.scw_server": (Action.UPDATE, Reason.CHANGED)}
    assert plan.change(f"{WEB}.scw_server").changed_paths == ("commercial_type",)


def test_force_new_replaces_delete_then_create_by_default():
    want = desired(chain("web"))
    plan = make_plan(_with_attr(want, f"{WEB}.scw_server", zone="nl-ams-1"),
                     _applied(want), providers())
    server = plan.change(f"{WEB}.scw_server")
    assert (server.action, server.reason) == (Action.DELETE_THEN_CREATE, Reason.FORCE_NEW)
    assert server.replace_paths == ("zone",) and "id" in server.after_unknown


class _CBDProvider(TestProvider):
    def resource_types(self) -> Mapping[str, ResourceType]:
        types = dict(super().resource_types())
        types["scw_server"] = types["scw_server"].model_copy(
            update={"create_before_destroy": True})
        return types


def test_create_before_destroy_type_replaces_create_then_delete():
    want = desired(chain("web"))
    provs = {**providers(), "scaleway": _CBDProvider()}
    plan = make_plan(_with_attr(want, f"{WEB}.scw_server", zone="nl-ams-1"),
                     _applied(want), provs)
    assert plan.change(f"{WEB}.scw_server").action is Action.CREATE_THEN_DELETE


def test_replaced_snapshot_replans_transient_chain_and_cascades_unknowns():
    want = desired(chain("web", disks=2))
    state = _applied(want)
    plan = make_plan(_with_attr(want, f"{WEB}.scw_snapshot[0]", size_bytes=20 * 2**30),
                     state, providers())
    acts = _actions(plan)
    assert acts[f"{WEB}.scw_snapshot[0]"] == (Action.DELETE_THEN_CREATE, Reason.FORCE_NEW)
    for t in ("vmware_snapshot", "disk_export[0]", "disk_export[1]", "qcow2_artifact[0]",
              "s3_object[0]"):
        assert acts[f"{WEB}.{t}"] == (Action.CREATE, Reason.NEEDED_BY), t
    assert plan.change(f"{WEB}.s3_object[0]").notes == (f"needed by {WEB}.scw_snapshot[0]",)
    # disk 1's conversion is not needed: its snapshot is kept
    assert acts[f"{WEB}.qcow2_artifact[1]"] == (Action.NOOP, Reason.TOMBSTONE)
    assert acts[f"{WEB}.scw_snapshot[1]"] == (Action.NOOP, Reason.NONE)
    # the new snapshot id is unknown: image and server are replaced too
    assert acts[f"{WEB}.scw_image"] == (Action.DELETE_THEN_CREATE, Reason.FORCE_NEW)
    assert acts[f"{WEB}.scw_server"] == (Action.DELETE_THEN_CREATE, Reason.FORCE_NEW)
    assert "image_id" in plan.change(f"{WEB}.scw_server").replace_paths


def test_removed_migration_is_deleted_including_tombstone_records():
    want = desired(chain("web"), chain("db"))
    state = _applied(want)
    plan = make_plan(desired(chain("db")), state, providers())
    web = {a: r for a, r in _actions(plan).items() if a.startswith(WEB)}
    assert web and all(r == (Action.DELETE, Reason.NOT_IN_CONFIG) for r in web.values())
    assert plan.change(f"{WEB}.s3_object[0]").notes
    assert plan.change(f"{WEB}.scw_server").depends_on == (f"{WEB}.scw_image",)
    assert plan.summary().delete == len(web)


def test_tainted_is_applied_again_and_checkpointed_create_resumes():
    want = desired(chain("web"))
    state = _applied(want)
    srv = state.resources[f"{WEB}.scw_server"]
    img = state.resources[f"{WEB}.scw_image"]
    state = state.with_resource(srv.model_copy(update={"status": Status.TAINTED}))
    state = state.with_resource(img.model_copy(update={"status": Status.TAINTED,
                                                       "checkpoint": {"step": 2}}))
    acts = _actions(make_plan(want, state, providers()))
    assert acts[f"{WEB}.scw_image"] == (Action.CREATE, Reason.RESUME)
    # applied again, never deleted first: the walker adopts what the failed apply left
    assert acts[f"{WEB}.scw_server"] == (Action.CREATE, Reason.TAINTED)


def test_replace_option_forces_replacement():
    want = desired(chain("web"))
    plan = make_plan(want, _applied(want), providers(),
                     PlanOptions(replace=(f"{WEB}.scw_server",)))
    changed = {a: r for a, r in _actions(plan).items() if r[0] is not Action.NOOP}
    assert changed == {f"{WEB}.scw_server": (Action.DELETE_THEN_CREATE,
                                             Reason.REPLACE_REQUESTED)}


def test_target_includes_dependencies_only():
    want = desired(chain("web"), chain("db"))
    plan = make_plan(want, State(lineage="L"), providers(),
                     PlanOptions(targets=(f"{WEB}.scw_image",)))
    addrs = {c.address for c in plan.changes}
    assert f"{WEB}.scw_image" in addrs and f"{WEB}.vmware_snapshot" in addrs
    assert f"{WEB}.scw_server" not in addrs
    assert not any(a.startswith("migration.db") for a in addrs)


def test_unmatched_target_warns():
    want = desired(chain("web"))
    plan = make_plan(want, State(lineage="L"), providers(),
                     PlanOptions(targets=("migration.nope",)))
    assert not plan.changes
    assert any("matches no resource" in d.summary for d in plan.diagnostics)


def test_drift_and_gone_objects():
    want = desired(chain("web"))
    recorded = _applied(want)
    srv = recorded.resources[f"{WEB}.scw_server"]
    refreshed = recorded.with_resource(
        srv.model_copy(update={"attributes": {**srv.attributes, "state": "stopped"}})
    ).without(f"{WEB}.scw_image")
    only = make_plan(want, refreshed, providers(), PlanOptions(refresh_only=True),
                     recorded=recorded)
    assert only.changes == () and only.has_changes
    drift = {c.address: (c.action, c.reason, c.changed_paths) for c in only.drift}
    assert drift == {f"{WEB}.scw_server": (Action.UPDATE, Reason.DRIFT, ("state",)),
                     f"{WEB}.scw_image": (Action.DELETE, Reason.GONE, ())}
    normal = make_plan(want, refreshed, providers(), recorded=recorded)
    assert _actions(normal)[f"{WEB}.scw_image"] == (Action.CREATE, Reason.GONE)
    assert normal.change(f"{WEB}.scw_server").action is Action.DELETE_THEN_CREATE


def test_prevent_destroy_is_an_error_naming_the_resource():
    want = desired(chain("web", prevent_destroy=True))
    state = _applied(want)
    plan = make_plan(_with_attr(want, f"{WEB}.scw_server", zone="nl-ams-1"), state, providers())
    errors = [d for d in plan.diagnostics if d.severity is Severity.ERROR]
    assert [d.address for d in errors] == [f"{WEB}.scw_server"]
    assert "prevent_destroy" in errors[0].summary and plan.errored
    destroy = make_plan(want, state, providers(), PlanOptions(destroy=True))
    assert {d.address for d in destroy.diagnostics} == {
        f"{WEB}.scw_server", f"{WEB}.scw_image", f"{WEB}.scw_snapshot[0]"}


def test_destroy_plans_every_record_and_target_takes_dependents():
    want = desired(chain("web"), chain("db"))
    state = _applied(want)
    plan = make_plan(want, state, providers(), PlanOptions(destroy=True))
    assert {c.address for c in plan.changes} == set(state.resources)
    assert all(c.reason is Reason.DESTROY for c in plan.changes)
    part = make_plan(want, state, providers(),
                     PlanOptions(destroy=True, targets=(f"{WEB}.scw_image",)))
    assert {c.address for c in part.changes} == {f"{WEB}.scw_image", f"{WEB}.scw_server"}


def test_created_transient_with_dependents_in_place_is_cleaned_up():
    want = desired(chain("web"))
    state = _applied(want)
    obj = state.resources[f"{WEB}.s3_object[0]"]
    state = state.with_resource(obj.model_copy(update={"status": Status.CREATED}))
    acts = _actions(make_plan(want, state, providers()))
    assert acts[f"{WEB}.s3_object[0]"] == (Action.DELETE, Reason.CLEANUP)


def test_sensitive_attributes_never_reach_the_plan():
    want = _with_attr(desired(chain("web")), f"{WEB}.scw_server", secret="hunter2-xyz")
    plan = make_plan(want, State(lineage="L"), providers())
    assert "hunter2-xyz" not in plan.to_json()
    assert plan.change(f"{WEB}.scw_server").sensitive_paths == ("secret",)


def test_tombstone_config_change_is_noted_not_rebuilt():
    want = desired(chain("web"))
    state = _applied(want)
    plan = make_plan(_with_attr(want, f"{WEB}.qcow2_artifact[0]", compress=True),
                     state, providers())
    qcow = plan.change(f"{WEB}.qcow2_artifact[0]")
    assert (qcow.action, qcow.reason) == (Action.NOOP, Reason.TOMBSTONE)
    assert "compress" in qcow.notes[0]


def test_replace_a_whole_migration_redoes_its_transient_chain():
    want = desired(chain("web"), chain("db"))
    plan = make_plan(want, _applied(want), providers(), PlanOptions(replace=(WEB,)))
    acts = _actions(plan)
    assert acts[f"{WEB}.s3_object[0]"] == (Action.CREATE, Reason.REPLACE_REQUESTED)
    assert acts[f"{WEB}.scw_server"] == (Action.DELETE_THEN_CREATE, Reason.REPLACE_REQUESTED)
    assert all(r == (Action.NOOP, Reason.NONE) or r[1] is Reason.TOMBSTONE
               for a, r in acts.items() if a.startswith("migration.db."))


def test_a_cycle_is_a_config_error_naming_it():
    import pytest

    from vmware2scw.errors import ConfigError

    want = desired(chain("web"))
    img = want.resources[f"{WEB}.scw_image"]
    srv = f"{WEB}.scw_server"
    cyclic = want.model_copy(update={"resources": {
        **want.resources,
        img.address: img.model_copy(update={"depends_on": img.depends_on | {srv}})}})
    with pytest.raises(ConfigError, match=r"(?s)cycle.*scw_server"):
        make_plan(cyclic, State(lineage="L"), providers())


def test_replace_lists_changed_paths():
    want = desired(chain("web"))
    plan = make_plan(_with_attr(want, f"{WEB}.scw_server", zone="nl-ams-1"),
                     _applied(want), providers())
    paths = plan.change(f"{WEB}.scw_server").changed_paths
    assert "zone" in paths and "id" in paths and "name" not in paths
