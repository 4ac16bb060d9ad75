"""Golden plans: each case's config + state must plan to its plan.json/plan.txt/plan.md,
and to the other display form (plan.compact.* below the compact threshold, plan.full.*
above it).

Set V2S_UPDATE_GOLDEN=1 to rewrite the expectations instead of comparing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.golden.runner import CASES, run_case
from vmware2scw.plan.render_compact import use_compact
from vmware2scw.plan.render_json import render_json
from vmware2scw.plan.render_markdown import render_markdown
from vmware2scw.plan.render_text import render_text

UPDATE = os.environ.get("V2S_UPDATE_GOLDEN") == "1"
CASE_DIRS = sorted(p.parent for p in CASES.glob("*/v2s.yaml"))


def test_enough_cases():
    assert len(CASE_DIRS) >= 15
    assert any(use_compact(run_case(c), None) for c in CASE_DIRS)  # a wave over the threshold


@pytest.mark.parametrize("case", CASE_DIRS, ids=[c.name for c in CASE_DIRS])
def test_golden(case: Path):
    plan = run_case(case)
    other = "full" if use_compact(plan, None) else "compact"  # the form not shown by default
    outputs = {"plan.json": render_json(plan), "plan.txt": render_text(plan),
               "plan.md": render_markdown(plan),
               f"plan.{other}.txt": render_text(plan, compact=other == "compact"),
               f"plan.{other}.md": render_markdown(plan, compact=other == "compact")}
    for name, text in outputs.items():
        path = case / name
        if UPDATE:
            path.write_text(text)
            continue
        assert path.exists(), f"{path} missing: run with V2S_UPDATE_GOLDEN=1 and review it"
        assert text == path.read_text(), (
            f"{case.name}/{name} differs from the planner's output; if the change is "
            "intended, rerun with V2S_UPDATE_GOLDEN=1 and review the diff"
        )
