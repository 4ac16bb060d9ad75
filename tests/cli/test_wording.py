"""Counts in output agree with their nouns; wildcard brackets get a hint (issue 10, item 6)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.helpers import project_config, run, write_config


def test_one_of_a_kind_is_singular(tmp_path: Path, capsys) -> None:
    write_config(tmp_path, project_config(vms=1))
    r = run(capsys, tmp_path, "validate")
    assert r.code == 0, r.text
    assert re.search(r"valid: \d+ resources in 1 migration\.$", r.out.strip()), r.out
    r = run(capsys, tmp_path, "inventory")
    assert "  1 disk (1.0 GiB)" in r.out and r.out.strip().endswith("\n1 VM."), r.out
    write_config(tmp_path, project_config(vms=2, disks=2))
    assert "in 2 migrations." in run(capsys, tmp_path, "validate").out
    r = run(capsys, tmp_path, "inventory")
    assert "  2 disks (3.0 GiB)" in r.out and r.out.strip().endswith("\n2 VMs."), r.out


def test_bracket_wildcard_that_skips_the_vm_of_that_name_warns(tmp_path: Path, capsys) -> None:
    cfg = project_config(vms=2)
    cfg["providers"]["vmware"]["vms"][0]["name"] = "web[1]"
    cfg["providers"]["vmware"]["vms"][1]["name"] = "web1"
    cfg["migrations"] = {"web": {"source": {"vm": "web[1]"}, "target": {"type": "PRO2-S"}}}
    del cfg["outputs"]
    write_config(tmp_path, cfg)
    r = run(capsys, tmp_path, "validate")
    assert r.code == 0, r.text  # a character class is legal: 'web[1]' selects web1
    assert re.search(r"^v2s\.yaml:\d+:\d+: warning: migration\.web: pattern 'web\[1\]' does not "
                     r"match the VM of that very name; .* write 'web\[\[\]1\]'", r.err), r.err
    cfg["migrations"]["web"]["source"]["vm"] = "web[[]1]"
    write_config(tmp_path, cfg)
    r = run(capsys, tmp_path, "validate")
    assert r.code == 0 and "warning" not in r.err, r.text
