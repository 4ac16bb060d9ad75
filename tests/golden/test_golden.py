"""Golden plans: each case's config + state must plan to its plan.json/plan.txt/plan.md.

Set V2S_UPDATE_GOLDEN=1 to rewrite the expectations instead of comparing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.golden.runner import CASES, run_case
from vmware2scw.plan.render_json import render_json
from vmware2scw.plan.render_markdown import render_markdown
from vmware2scw.plan.render_text import render_text

UPDATE = os.environ.get("V2S_UPDATE_GOLDEN") == "1"
CASE_DIRS = sorted(p.parent for p in CASES.glob("*/v2s.yaml"))


def test_enough_cases():
    assert len(CASE_DIRS) >= 15


@pytest.mark.parametrize("case", CASE_DIRS, ids=[c.name for c in CASE_DIRS])
def test_golden(case: Path):
    plan = run_case(case)
    outputs = {"plan.json": render_json(plan), "plan.txt": render_text(plan),
               "plan.md": render_markdown(plan)}
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
