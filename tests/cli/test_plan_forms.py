"""`plan`/`show`/`apply`: the compact plan form by default above 10 migrations, -compact/-full."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import project_config, run, write_config

COMPACT = "Compact form: one line per resource"


def test_small_plan_is_full_unless_compact_is_asked(tmp_path: Path, capsys) -> None:
    write_config(tmp_path, project_config(vms=2))
    r = run(capsys, tmp_path, "plan", "-out", "p.json")
    assert r.code == 0 and COMPACT not in r.out and "will be created" in r.out, r.text
    for args in (["plan", "-compact"], ["plan", "--compact"], ["show", "-compact", "p.json"]):
        r = run(capsys, tmp_path, *args)
        assert r.code == 0 and r.out.startswith(COMPACT), (args, r.text)
        assert "    + migration.m00.scw_server\n" in r.out
    r = run(capsys, tmp_path, "plan", "-format", "markdown", "-compact")
    assert "### Resources by migration" in r.out and "+ migration.m01.scw_server" in r.out


def test_wave_plan_is_compact_unless_full_is_asked(tmp_path: Path, capsys) -> None:
    write_config(tmp_path, project_config(vms=11))
    r = run(capsys, tmp_path, "plan")
    assert r.code == 0 and r.out.startswith(COMPACT), r.text
    assert r.out.count("\nmigration.m") == 11
    r = run(capsys, tmp_path, "apply", "-auto-approve")  # the review shows the same form
    assert r.code == 0 and r.out.startswith(COMPACT), r.text
    r = run(capsys, tmp_path, "destroy", "-auto-approve", "-full")
    assert r.code == 0 and COMPACT not in r.out and "will be destroyed" in r.out, r.text
