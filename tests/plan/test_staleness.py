"""A saved plan is refused once state, config or sources moved on."""

from __future__ import annotations

import pytest

from vmware2scw.desired import Desired
from vmware2scw.errors import StalePlanError
from vmware2scw.plan import Plan
from vmware2scw.plan.staleness import check_current
from vmware2scw.state.model import State

PLAN = Plan(lineage="L", serial=5, config_digest="sha256:a", source_digests={"web": "7"})
STATE = State(lineage="L", serial=5)
DESIRED = Desired(config_digest="sha256:a", source_digests={"web": "7"})


def test_current_plan_passes():
    check_current(PLAN, STATE, DESIRED)


@pytest.mark.parametrize(
    ("state", "desired", "expected"),
    [
        (State(lineage="other", serial=5), DESIRED, "lineage L, but the state now has lineage"),
        (State(lineage="L", serial=6), DESIRED, "serial 5, now 6"),
        (STATE, DESIRED.model_copy(update={"config_digest": "sha256:b"}),
         "configuration changed"),
        (STATE, DESIRED.model_copy(update={"source_digests": {"web": "8"}}),
         "web changeVersion 7 -> 8"),
        (STATE, DESIRED.model_copy(update={"source_digests": {"web": "7", "db": "1"}}),
         "db is new"),
        (STATE, DESIRED.model_copy(update={"source_digests": {}}), "web is no longer selected"),
    ],
)
def test_stale_plan_is_refused_with_what_changed(state, desired, expected):
    with pytest.raises(StalePlanError) as info:
        check_current(PLAN, state, desired)
    assert expected in str(info.value)
    assert "v2s plan" in str(info.value)  # says what to do


def test_every_problem_is_named_at_once():
    with pytest.raises(StalePlanError) as info:
        check_current(PLAN, State(lineage="L", serial=9),
                      Desired(config_digest="x", source_digests={"web": "9"}))
    text = str(info.value)
    assert "serial" in text and "configuration" in text and "changeVersion" in text
