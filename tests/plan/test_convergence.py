"""Plan -> apply (the real walker through the CLI) -> plan again converges to no changes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.cli.helpers import project_config, run, write_config


@pytest.fixture
def applied(tmp_path: Path, capsys) -> Path:
    write_config(tmp_path, project_config(vms=1, disks=2))
    r = run(capsys, tmp_path, "apply", "-auto-approve")
    assert r.code == 0, r.text
    return tmp_path


def _store(project: Path) -> dict:
    return json.loads((project / "cloud.json").read_text())


def _objects_per_address(project: Path) -> Counter[str]:
    return Counter(o["address"] for o in _store(project)["objects"].values())


def _converges(project: Path, capsys) -> None:
    r = run(capsys, project, "apply", "-auto-approve")
    assert r.code == 0, r.text
    r = run(capsys, project, "plan", "--detailed-exitcode")
    assert r.code == 0, r.text
    assert "No changes." in r.out


def test_object_deleted_outside_rebuilds_only_the_chain_it_needs(applied: Path, capsys):
    data = _store(applied)
    for obj in data["objects"].values():
        if obj["address"] == "migration.m00.scw_snapshot[1]":
            obj["deleted"] = True
    (applied / "cloud.json").write_text(json.dumps(data))
    r = run(capsys, applied, "plan", "--detailed-exitcode")
    assert r.code == 2, r.text
    assert "needed by migration.m00.scw_snapshot[1]" in r.out
    assert "Plan: 6 to create, 0 to update, 2 to replace, 0 to destroy." in r.out
    _converges(applied, capsys)
    made = _objects_per_address(applied)
    assert made["migration.m00.qcow2_artifact[0]"] == 1  # disk 0's conversion not redone
    assert made["migration.m00.scw_snapshot[0]"] == 1
    assert made["migration.m00.scw_snapshot[1]"] == 2


def test_update_in_place_then_no_changes(applied: Path, capsys):
    cfg = project_config(vms=1, disks=2)
    cfg["migrations"]["m00"]["target"]["type"] = "PRO2-M"
    write_config(applied, cfg)
    r = run(capsys, applied, "plan")
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to destroy." in r.out, r.text
    _converges(applied, capsys)
    assert _objects_per_address(applied)["migration.m00.scw_server"] == 1


def test_replace_whole_migration_redoes_it_once(applied: Path, capsys):
    r = run(capsys, applied, "apply", "-auto-approve", "-replace", "migration.m00")
    assert r.code == 0, r.text
    r = run(capsys, applied, "plan", "--detailed-exitcode")
    assert r.code == 0, r.text
    assert set(_objects_per_address(applied).values()) == {2}
