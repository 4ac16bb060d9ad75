"""validate / plan / apply / destroy / show through the CLI, on the test provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import creations, live, project_config, run, write_config
from vmware2scw.plan.model import Plan

KEPT = {"scw_snapshot[0]", "scw_image", "scw_server"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_config(tmp_path, project_config())
    return tmp_path


def test_validate_plan_apply_destroy_round_trip(project: Path, capsys) -> None:
    r = run(capsys, project, "validate")
    assert r.code == 0, r.text
    assert "14 resources" in r.out
    r = run(capsys, project, "plan", "--detailed-exitcode")
    assert r.code == 2, r.text
    assert "Plan: 14 to create" in r.out
    r = run(capsys, project, "apply", "-auto-approve")
    assert r.code == 0, r.text
    assert "Apply complete" in r.out
    assert set(live(project)) == {f"migration.m{i:02d}.{k}" for i in range(2) for k in KEPT}
    r = run(capsys, project, "plan", "--detailed-exitcode")
    assert r.code == 0, r.text
    r = run(capsys, project, "output", "first_ip", "-raw")
    assert r.code == 0 and r.out.startswith("51.15."), r.text
    r = run(capsys, project, "destroy", "-auto-approve")
    assert r.code == 0, r.text
    assert live(project) == {}
    r = run(capsys, project, "state", "list")
    assert r.out == ""
    assert max(creations(project).values()) == 1


def test_apply_without_approval_refuses_when_nobody_can_answer(project: Path, capsys) -> None:
    r = run(capsys, project, "apply")
    assert r.code == 1
    assert "-auto-approve" in r.err
    assert live(project) == {}


def test_destroy_without_approval_refuses(project: Path, capsys) -> None:
    assert run(capsys, project, "apply", "-auto-approve").code == 0
    r = run(capsys, project, "destroy")
    assert r.code == 1 and "-auto-approve" in r.err
    assert len(live(project)) == 6


def test_saved_plan_applies_and_a_stale_one_is_refused(project: Path, capsys) -> None:
    r = run(capsys, project, "plan", "-out", "tf.plan")
    assert r.code == 0, r.text
    assert (project / "tf.plan").stat().st_mode & 0o777 == 0o600
    first = run(capsys, project, "show", "--json", "tf.plan")
    assert Plan.from_json(first.out).summary().create == 14
    assert run(capsys, project, "apply", "tf.plan").code == 0
    r = run(capsys, project, "apply", "tf.plan")
    assert r.code == 4, r.text
    assert "stale" in r.err and "Traceback" not in r.text


def test_saved_plan_is_stale_when_the_source_vm_changed(project: Path, capsys) -> None:
    assert run(capsys, project, "plan", "-out", "p.json").code == 0
    cfg = project_config()
    cfg["providers"]["vmware"]["vms"][1]["change_version"] = "cv-changed"
    write_config(project, cfg)
    r = run(capsys, project, "apply", "p.json")
    assert r.code == 4 and "vm-01" in r.err, r.text


def test_failed_resource_gives_partial_exit_code_and_rerun_converges(tmp_path: Path,
                                                                     capsys) -> None:
    write_config(tmp_path, project_config(knobs={"fail": ["migration.m01.scw_image"]}))
    r = run(capsys, tmp_path, "apply", "-auto-approve")
    assert r.code == 5, r.text
    assert "migration.m01.scw_image" in r.err and "injected failure" in r.err
    assert "migration.m00.scw_server" in live(tmp_path)
    assert "migration.m01.scw_server" not in live(tmp_path)
    write_config(tmp_path, project_config())
    r = run(capsys, tmp_path, "apply", "-auto-approve")
    assert r.code == 0, r.text
    assert run(capsys, tmp_path, "plan", "--detailed-exitcode").code == 0
    assert max(creations(tmp_path).values()) == 1


def test_prevent_destroy_refuses(tmp_path: Path, capsys) -> None:
    cfg = project_config(vms=1)
    cfg["migrations"]["m00"]["prevent_destroy"] = True
    write_config(tmp_path, cfg)
    assert run(capsys, tmp_path, "apply", "-auto-approve").code == 0
    r = run(capsys, tmp_path, "destroy", "-auto-approve")
    assert r.code == 1, r.text
    assert "prevent_destroy" in r.text
    assert len(live(tmp_path)) == 3


def test_plan_formats(project: Path, capsys) -> None:
    r = run(capsys, project, "plan", "--format", "markdown")
    assert r.code == 0 and "|" in r.out and "mermaid" in r.out
    r = run(capsys, project, "plan", "--json")
    data = json.loads(r.out)
    assert len(data["changes"]) == 14
    r = run(capsys, project, "plan", "--format", "yaml")
    assert r.code == 1 and "--format" in r.err


def test_target_and_replace(project: Path, capsys) -> None:
    r = run(capsys, project, "apply", "-auto-approve", "-target", "migration.m00")
    assert r.code == 0, r.text
    assert {a.split(".")[1] for a in live(project)} == {"m00"}
    r = run(capsys, project, "apply", "-auto-approve", "-replace", "migration.m00.scw_server")
    assert r.code == 0, r.text
    assert creations(project)["migration.m00.scw_server"] == 2
    assert live(project)["migration.m00.scw_server"] == 1


def test_json_apply_prints_events_and_a_report(project: Path, capsys) -> None:
    r = run(capsys, project, "apply", "-auto-approve", "--json")
    assert r.code == 0, r.text
    lines = [json.loads(line) for line in r.out.splitlines() if line.strip()]
    assert {line["type"] for line in lines} == {"event", "report"}
    assert lines[-1]["type"] == "report" and lines[-1]["ok"] is True


def test_graph_state_and_info_commands(project: Path, capsys) -> None:
    r = run(capsys, project, "graph")
    assert r.code == 0 and r.out.startswith("digraph")
    r = run(capsys, project, "graph", "--format", "mermaid")
    assert r.code == 0 and r.out.lstrip().startswith(("flowchart", "graph"))
    assert run(capsys, project, "apply", "-auto-approve").code == 0
    r = run(capsys, project, "state", "list", "migration.m00")
    assert len(r.out.splitlines()) == 7
    r = run(capsys, project, "state", "show", "migration.m00.scw_server")
    assert json.loads(r.out)["status"] == "created"
    pulled = run(capsys, project, "state", "pull").out
    (project / "pulled.json").write_text(pulled)
    r = run(capsys, project, "state", "mv", "migration.m01", "migration.m09")
    assert r.code == 0 and "migration.m09.scw_server" in r.out
    r = run(capsys, project, "state", "rm", "migration.m09.scw_server")
    assert r.code == 0
    r = run(capsys, project, "state", "push", "pulled.json")
    assert r.code == 1 and "serial" in r.err  # older than the current state
    r = run(capsys, project, "state", "show", "migration.nope.scw_server")
    assert r.code == 1 and "Traceback" not in r.text
    r = run(capsys, project, "show")
    assert "migration.m00.scw_server" in r.out
    r = run(capsys, project, "inventory", "--match", "vm-0*", "--json")
    assert [vm["name"] for vm in json.loads(r.out)] == ["vm-00", "vm-01"]
    r = run(capsys, project, "inventory", "--yaml", "--match", "vm-01")
    assert "vm-01:\n    source:\n      vm: vm-01\n" in r.out  # a starter migrations block
    r = run(capsys, project, "version")
    assert r.code == 0 and "test" in r.out
    r = run(capsys, project, "schema")
    assert json.loads(r.out)["title"]
    r = run(capsys, project, "force-unlock", "0000")
    assert r.code != 0 and "not locked" in r.err


def test_chdir_and_config_options(project: Path, tmp_path_factory, capsys) -> None:
    other = tmp_path_factory.mktemp("elsewhere")
    r = run(capsys, other, "--chdir", str(project), "validate")
    assert r.code == 0, r.text
    r = run(capsys, other, "-c", str(project / "v2s.yaml"), "validate")
    assert r.code == 0, r.text
    r = run(capsys, other, "validate")
    assert r.code == 1 and "v2s.yaml" in r.err and "Traceback" not in r.text
    r = run(capsys, other, "plan", "--no-such-flag")
    assert r.code == 1 and "--no-such-flag" in r.err


def test_variables_from_var_and_var_file(tmp_path: Path, capsys) -> None:
    cfg = project_config(vms=1)
    cfg["variables"] = {"zone": {"type": "string", "default": "fr-par-1"}}
    cfg["defaults"] = {"target": {"zone": "${var.zone}"}}
    write_config(tmp_path, cfg)
    (tmp_path / "prod.yaml").write_text("zone: nl-ams-1\n")

    def zones(*args: str) -> set[str]:
        r = run(capsys, tmp_path, "plan", "--json", *args)
        assert r.code == 0, r.text
        return {ch["after"]["zone"] for ch in json.loads(r.out)["changes"]
                if ch["type"] == "scw_server"}

    assert zones() == {"fr-par-1"}
    assert zones("-var", "zone=fr-par-2") == {"fr-par-2"}
    assert zones("-var-file", "prod.yaml") == {"nl-ams-1"}
    assert zones("-var-file", "prod.yaml", "-var", "zone=pl-waw-1") == {"pl-waw-1"}
    r = run(capsys, tmp_path, "plan", "-var", "nope=1")
    assert r.code == 1 and "nope" in r.err
