"""The plan model: JSON round trip, summary counts, action helpers."""

from vmware2scw.diagnostics import error
from vmware2scw.plan import Action, Plan, PlanOptions, Reason, ResourceChange


def _plan() -> Plan:
    return Plan(
        lineage="L",
        serial=3,
        config_digest="sha256:abc",
        source_digests={"web": "cv1"},
        options=PlanOptions(targets=("migration.a.scw_server",)),
        changes=(
            ResourceChange(address="a", type="t", provider="p", action=Action.CREATE,
                           reason=Reason.NEW, after={"x": None}, after_unknown=("x",)),
            ResourceChange(address="b", type="t", provider="p", action=Action.CREATE_THEN_DELETE,
                           reason=Reason.FORCE_NEW, before={"x": 1}, after={"x": 2},
                           replace_paths=("x",)),
            ResourceChange(address="c", type="t", provider="p", action=Action.NOOP,
                           reason=Reason.NONE, before={}, after={}),
            ResourceChange(address="d", type="t", provider="p", action=Action.DELETE,
                           reason=Reason.NOT_IN_CONFIG, before={"x": 1}),
        ),
    )


def test_json_round_trip_is_identity():
    plan = _plan()
    again = Plan.from_json(plan.to_json())
    assert again == plan
    assert again.change("b") is not None and again.change("b").action is Action.CREATE_THEN_DELETE


def test_summary_counts_each_kind():
    s = _plan().summary()
    assert (s.create, s.update, s.replace, s.delete, s.noop) == (1, 0, 1, 1, 1)
    assert s.total == 3


def test_action_helpers():
    assert Action.DELETE_THEN_CREATE.is_replace and Action.CREATE_THEN_DELETE.creates
    assert Action.DELETE.deletes and not Action.UPDATE.deletes
    assert Action.CREATE_THEN_DELETE.symbol == "+/-"


def test_errored_and_has_changes():
    plan = _plan()
    assert plan.has_changes and not plan.errored
    bad = plan.model_copy(update={"diagnostics": (error("boom"),)})
    assert bad.errored
    empty = Plan(lineage="L", serial=0)
    assert not empty.has_changes
