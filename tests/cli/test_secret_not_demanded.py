"""A sensitive variable is demanded only by commands that configure a provider using it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.helpers import project_config, run, write_config

NEEDS_NO_SECRET = [["state", "list"], ["state", "pull"], ["output"], ["graph"], ["show"],
                   ["state", "show", "migration.m00.scw_server"]]


def _config(tmp_path: Path) -> None:
    cfg = project_config(vms=1, extra={"variables": {
        "scw_secret": {"type": "string", "sensitive": True}}})
    cfg["providers"]["scaleway"]["password"] = "${var.scw_secret}"
    write_config(tmp_path, cfg)


def test_read_only_commands_run_without_the_secret(tmp_path: Path, capsys) -> None:
    _config(tmp_path)
    r = run(capsys, tmp_path, "apply", "-auto-approve", "-var", "scw_secret=s3cr3t-value")
    assert r.code == 0, r.text
    for args in NEEDS_NO_SECRET:
        r = run(capsys, tmp_path, *args)
        assert r.code == 0, (args, r.text)
        assert "s3cr3t-value" not in r.text
    assert "migration.m00.scw_server" in run(capsys, tmp_path, "state", "list").out
    assert json.loads(run(capsys, tmp_path, "state", "pull").out)["resources"]
    assert "first_ip = " in run(capsys, tmp_path, "output").out


def test_commands_that_configure_the_provider_still_demand_it(tmp_path: Path, capsys) -> None:
    _config(tmp_path)
    for args in (["validate"], ["plan"], ["apply", "-auto-approve"], ["destroy", "-auto-approve"]):
        r = run(capsys, tmp_path, *args)
        assert r.code == 1, (args, r.text)
        first = r.err.splitlines()[0]
        assert re.match(r"Error: v2s\.yaml:\d+:3: variable 'scw_secret' has no value", first), r.err
        assert "Traceback" not in r.text
    assert not (tmp_path / "v2s.tfstate.json").exists() or json.loads(
        (tmp_path / "v2s.tfstate.json").read_text())["resources"] == {}
