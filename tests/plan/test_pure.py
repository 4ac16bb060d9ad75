"""Planning is pure: after refresh, the planner only asks providers to plan."""

from __future__ import annotations

from pathlib import Path

from tests.golden.runner import load_desired, load_state
from vmware2scw.plan.planner import make_plan
from vmware2scw.refresh import refresh
from vmware2scw.testing import RecordingProvider

CASE = Path(__file__).resolve().parents[1] / "golden" / "tombstone_needed_by_new_snapshot"


def test_refresh_reads_in_one_batch_and_planning_only_plans() -> None:
    desired, built = load_desired(CASE)
    providers = {name: RecordingProvider(p) for name, p in built.items()}
    state = load_state(CASE)
    refreshed, _ = refresh(state, providers, desired)
    reads = {name: p.verbs("read") for name, p in providers.items()}
    assert sum(len(r) for r in reads.values()) > 0
    for p in providers.values():
        p.calls.clear()
    make_plan(desired, refreshed, providers, recorded=state)
    verbs = {verb for p in providers.values() for verb, _ in p.calls}
    assert verbs == {"plan"}
