"""Secrets never reach state, plans, --json output or logs; everything v2s makes is private."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.helpers import project_config, run, write_config
from vmware2scw.workdir import private_dir, resource_dir, temp_dir

PASSWORD = "pw-Zq8-VERY-secret-41"
TOKEN = "tok-Xk3-sensitive-var-77"


def _secret_project(tmp_path: Path, monkeypatch) -> Path:
    cfg = project_config(knobs={"progress_steps": 2})
    cfg["variables"] = {"token": {"type": "string", "sensitive": True}}
    cfg["providers"]["vmware"]["password"] = "${env.V2S_TEST_PASSWORD}"
    cfg["providers"]["scaleway"]["secret_key"] = "${var.token}"
    write_config(tmp_path, cfg)
    monkeypatch.setenv("V2S_TEST_PASSWORD", PASSWORD)
    monkeypatch.setenv("V2S_VAR_token", TOKEN)
    return tmp_path


@pytest.fixture(autouse=True)
def _restore_umask():
    mask = os.umask(0o022)
    yield
    os.umask(mask)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_secrets_appear_in_no_file_and_no_output(tmp_path: Path, monkeypatch, capsys) -> None:
    project = _secret_project(tmp_path, monkeypatch)
    outputs = []
    for args in (["validate", "--json"], ["plan", "-out", "saved.plan"], ["plan", "--json"],
                 ["plan", "--format", "markdown"], ["show", "--json", "saved.plan"],
                 ["apply", "-auto-approve", "--json"], ["state", "pull"], ["show", "--json"],
                 ["output", "--json"], ["graph"], ["inventory", "--json"],
                 ["destroy", "-auto-approve"]):
        r = run(capsys, project, *args)
        assert r.code == 0, (args, r.text)
        outputs.append(r.text)
    files = _files(project)
    assert any(p.name.endswith(".log") for p in files)
    assert any(p.name == "saved.plan" for p in files)
    assert any(p.name.endswith(".tfstate.json") for p in files)
    for secret in (PASSWORD, TOKEN):
        assert not [t for t in outputs if secret in t]
        leaked = [p for p in files if secret.encode() in p.read_bytes()]
        assert leaked == [], leaked


def test_a_failing_provider_does_not_leak_settings(tmp_path: Path, monkeypatch,
                                                    capsys) -> None:
    project = _secret_project(tmp_path, monkeypatch)
    cfg = project_config()
    cfg["providers"]["vmware"]["password"] = ["${env.V2S_TEST_PASSWORD}"]  # wrong type
    write_config(project, cfg)
    r = run(capsys, project, "apply", "-auto-approve")
    assert r.code == 1 and "Traceback" not in r.text
    assert "providers.vmware.password" in r.err
    assert PASSWORD not in r.text


def test_work_dir_and_every_folder_under_it_are_0700(tmp_path: Path, capsys) -> None:
    write_config(tmp_path, project_config(knobs={"fail": ["migration.m01.s3_object[0]"]}))
    os.umask(0o022)  # a permissive umask must not matter
    r = run(capsys, tmp_path, "apply", "-auto-approve")
    assert r.code == 5, r.text
    work = tmp_path / ".v2s"
    dirs = [work, *[p for p in work.rglob("*") if p.is_dir()]]
    assert len(dirs) >= 4
    assert {oct(p.stat().st_mode & 0o777) for p in dirs} == {"0o700"}, dirs
    files = [p for p in work.rglob("*") if p.is_file()]
    assert files and all(p.stat().st_mode & 0o077 == 0 for p in files)
    assert (tmp_path / "v2s.tfstate.json").stat().st_mode & 0o777 == 0o600


def test_workdir_helpers_make_private_dirs(tmp_path: Path) -> None:
    os.umask(0o022)
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    assert private_dir(loose).stat().st_mode & 0o777 == 0o700  # tightened
    made = [temp_dir(tmp_path / "w"), temp_dir(tmp_path / "w"),
            resource_dir(tmp_path / "w", 'migration.app["x/../y"].disk_export[0]')]
    assert len(set(made)) == 3
    for p in made:
        assert p.stat().st_mode & 0o777 == 0o700
        assert p.resolve().is_relative_to((tmp_path / "w").resolve())
