"""Rebuild a case's state.json from its base.yaml: plan from empty, simulate a full apply.

    .venv/bin/python -m tests.golden.build_states [CASE ...]

case.yaml may edit the result: ``state_edits: {ADDRESS: {field: value} | null}``
(fields of the state record, e.g. status: tainted, checkpoint: {...}; null removes it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.golden.runner import CASES, LINEAGE, case_spec, load_desired
from tests.plan.chain import simulate_apply
from vmware2scw.plan.planner import make_plan
from vmware2scw.state import codec
from vmware2scw.state.model import State


def build(case: Path) -> None:
    base = case / "base.yaml"
    desired, providers = load_desired(case, base.read_text())
    empty = State(lineage=LINEAGE)
    state = simulate_apply(make_plan(desired, empty, providers), empty, desired)
    for address, edit in (case_spec(case).get("state_edits") or {}).items():
        if edit is None:
            state = state.without(address)
        else:
            rec = state.resources[address]
            state = state.with_resource(rec.model_validate({**rec.model_dump(), **edit}))
    (case / "state.json").write_bytes(codec.dumps(state))


def main(names: list[str]) -> None:
    cases = [CASES / n for n in names] if names else sorted(
        p.parent for p in CASES.glob("*/base.yaml"))
    for case in cases:
        build(case)
        print(f"built {case.name}/state.json")


if __name__ == "__main__":
    main(sys.argv[1:])
