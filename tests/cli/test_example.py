"""examples/test-provider.yaml works end to end: validate, plan, apply, plan again, destroy."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli.helpers import ROOT, run


def test_test_provider_example_round_trip(tmp_path: Path, capsys) -> None:
    shutil.copy(ROOT / "examples" / "test-provider.yaml", tmp_path / "v2s.yaml")
    assert run(capsys, tmp_path, "validate").code == 0
    r = run(capsys, tmp_path, "plan", "--detailed-exitcode")
    assert r.code == 2 and "Plan: 25 to create" in r.out, r.text
    r = run(capsys, tmp_path, "apply", "-auto-approve")
    assert r.code == 0, r.text
    assert run(capsys, tmp_path, "plan", "--detailed-exitcode").code == 0
    r = run(capsys, tmp_path, "output", "web_ip", "-raw")
    assert r.code == 0 and r.out.count(".") == 3
    r = run(capsys, tmp_path, "destroy", "-auto-approve")
    assert r.code == 0, r.text
    assert run(capsys, tmp_path, "state", "list").out == ""
