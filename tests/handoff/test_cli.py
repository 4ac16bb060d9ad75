"""`v2s handoff terraform|done` through the CLI on the test provider: refusals and effects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import live, project_config, run, write_config
from vmware2scw.state import codec
from vmware2scw.state.model import State, Status

SERVER0 = "migration.m00.scw_server"
SERVER1 = "migration.m01.scw_server"


@pytest.fixture
def applied(tmp_path: Path, capsys) -> Path:
    write_config(tmp_path, project_config())
    r = run(capsys, tmp_path, "apply", "-auto-approve")
    assert r.code == 0, r.text
    return tmp_path


def state_of(project: Path) -> State:
    return codec.loads((project / "v2s.tfstate.json").read_bytes(), "state")


def edit_state(project: Path, address: str, **update: object) -> None:
    path = project / "v2s.tfstate.json"
    st = state_of(project)
    rec = st.resources[address].model_copy(update=update)
    path.write_bytes(codec.dumps(st.with_resource(rec)))


def assert_clean_error(r, *words: str) -> None:
    assert r.code == 1, r.text
    assert "Traceback" not in r.text and "internal error" not in r.text
    for w in words:
        assert w in r.err, r.err


def test_terraform_writes_one_file_per_migration_and_the_readme(applied: Path, capsys) -> None:
    r = run(capsys, applied, "handoff", "terraform", "-out", "tf")
    assert r.code == 0, r.text
    names = sorted(p.name for p in (applied / "tf").iterdir())
    assert names == ["README.md", "imports.tf", "m00.tf", "m01.tf", "versions.tf"]
    readme = (applied / "tf" / "README.md").read_text()
    for step in ("terraform init", "terraform plan", "v2s handoff done"):
        assert step in readme
    ids = {state_of(applied).resources[a].attributes["id"] for a in (SERVER0, SERVER1)}
    text = (applied / "tf" / "imports.tf").read_text()
    assert all(text.count(f'"{i}"') == 1 for i in ids)


def test_a_target_that_is_not_a_migrated_server_is_refused(applied: Path, capsys) -> None:
    r = run(capsys, applied, "handoff", "terraform", "-out", "tf",
            "-target", "migration.m00.scw_image")
    assert_clean_error(r, "migration.m00.scw_image is not a migrated server")
    r = run(capsys, applied, "handoff", "terraform", "-out", "tf", "-target", "migration.nope")
    assert_clean_error(r, "no migration in the state matches migration.nope")
    assert not (applied / "tf").exists()


def test_an_existing_non_empty_directory_is_refused(applied: Path, capsys) -> None:
    (applied / "tf").mkdir()
    (applied / "tf" / "main.tf").write_text("# mine\n")
    r = run(capsys, applied, "handoff", "terraform", "-out", "tf")
    assert_clean_error(r, "exists and is not empty")
    assert (applied / "tf" / "main.tf").read_text() == "# mine\n"
    (applied / "empty").mkdir()
    assert run(capsys, applied, "handoff", "terraform", "-out", "empty").code == 0


@pytest.mark.parametrize("how", ["tainted", "interrupted"])
def test_a_tainted_or_interrupted_migration_is_refused(applied: Path, capsys, how: str) -> None:
    if how == "tainted":
        edit_state(applied, "migration.m01.scw_image", status=Status.TAINTED)
    else:
        edit_state(applied, SERVER1, checkpoint={"id": "x"})
    r = run(capsys, applied, "handoff", "terraform", "-out", "tf")
    assert_clean_error(r, "migration m01 is not finished", how)
    r = run(capsys, applied, "handoff", "done", "-target", "migration.m01")
    assert_clean_error(r, "migration m01 is not finished")
    assert state_of(applied).resources[SERVER1].handed_off is None
    r = run(capsys, applied, "handoff", "terraform", "-out", "tf", "-target", "migration.m00")
    assert r.code == 0, r.text  # the finished one can still go


def test_a_failed_migration_without_server_is_refused(applied: Path, capsys) -> None:
    path = applied / "v2s.tfstate.json"
    path.write_bytes(codec.dumps(state_of(applied).without(SERVER1)))
    r = run(capsys, applied, "handoff", "terraform", "-out", "tf")
    assert_clean_error(r, "migration m01 has no migrated server")
    r = run(capsys, applied, "handoff", "terraform", "-out", "tf", "-target", "migration.m01")
    assert_clean_error(r, "migration.m01 is not a migrated server")


def test_no_state_is_refused(tmp_path: Path, capsys) -> None:
    write_config(tmp_path, project_config())
    r = run(capsys, tmp_path, "handoff", "terraform", "-out", "tf")
    assert_clean_error(r, "there is no state yet")
    r = run(capsys, tmp_path, "handoff", "done")
    assert_clean_error(r, "there is no state yet")


def test_done_leaves_handed_off_servers_out_of_plan_and_destroy(applied: Path, capsys) -> None:
    r = run(capsys, applied, "handoff", "done", "-target", "migration.m00")
    assert r.code == 0, r.text
    mark = state_of(applied).resources[SERVER0].handed_off
    assert mark is not None and mark.to == "terraform"
    r = run(capsys, applied, "plan", "--detailed-exitcode")
    assert r.code == 0, r.text  # no change at all
    r = run(capsys, applied, "plan", "-json")
    changes = {c["address"]: c for c in json.loads(r.out)["changes"]}
    assert changes[SERVER0]["action"] == "no-op" and changes[SERVER0]["reason"] == "handed-off"
    r = run(capsys, applied, "plan", "-replace", SERVER0)
    assert_clean_error(r, "cannot replace migration.m00.scw_server", "v2s state rm")
    r = run(capsys, applied, "destroy", "-auto-approve")
    assert r.code == 0, r.text
    assert "migration m00 was handed off, yet destroying migration.m00.vmware_snapshot" in r.err
    assert "migration m01 was handed off" not in r.err
    assert live(applied) == {SERVER0: 1}  # everything else went; the handed-off server stays
    assert list(state_of(applied).resources) == [SERVER0]
    plan = json.loads(run(capsys, applied, "plan", "-json").out)
    creates = {c["address"] for c in plan["changes"] if c["action"] == "create"}
    assert SERVER1 in creates  # the other migration is planned again...
    assert not {a for a in creates if a.startswith("migration.m00.")}  # ...nothing for m00


def test_done_twice_and_state_rm_releases(applied: Path, capsys) -> None:
    assert run(capsys, applied, "handoff", "done").code == 0
    r = run(capsys, applied, "handoff", "done", "-target", SERVER0)
    assert r.code == 0 and "already handed off" in r.out
    r = run(capsys, applied, "state", "rm", SERVER0)
    assert r.code == 0, r.text
    plan = json.loads(run(capsys, applied, "plan", "-json").out)
    assert {c["address"] for c in plan["changes"] if c["action"] == "create"} >= {SERVER0}


def test_a_server_deleted_outside_v2s_is_refused(applied: Path, capsys) -> None:
    cloud = applied / "cloud.json"
    data = json.loads(cloud.read_text())
    for obj in data["objects"].values():
        if obj["address"] == SERVER1:
            obj["deleted"] = True
    cloud.write_text(json.dumps(data))
    r = run(capsys, applied, "handoff", "terraform", "-out", "tf")
    assert_clean_error(r, f"{SERVER1}: nothing written: the server no longer exists")
    assert not (applied / "tf").exists()


def test_removing_a_handed_off_migration_from_the_config_keeps_its_server(
        applied: Path, capsys) -> None:
    assert run(capsys, applied, "handoff", "done", "-target", "migration.m00").code == 0
    cfg = project_config()
    del cfg["migrations"]["m00"]
    cfg["outputs"] = {}
    write_config(applied, cfg)
    plan = json.loads(run(capsys, applied, "plan", "-json").out)
    deletes = {c["address"] for c in plan["changes"] if c["action"] == "delete"}
    assert deletes == {"migration.m00.scw_image", "migration.m00.scw_snapshot[0]"} | {
        a for a in state_of(applied).resources
        if a.startswith("migration.m00.") and a != SERVER0 and "scw_" not in a}
    r = run(capsys, applied, "apply", "-auto-approve")
    assert r.code == 0, r.text
    assert SERVER0 in live(applied)
    kept = {a for a in state_of(applied).resources if a.startswith("migration.m00.")}
    assert kept == {SERVER0}  # its record stays, so nothing re-creates it
    assert run(capsys, applied, "plan", "--detailed-exitcode").code == 0
