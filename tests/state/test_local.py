"""Local backend specifics: file modes, atomic replacement, the lock file, from_config."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.state.conftest import race_for_lock, sample_state
from vmware2scw.errors import StateError
from vmware2scw.state.backend import DEFAULT_STATE_FILE, from_config
from vmware2scw.state.local import LocalBackend
from vmware2scw.state.lock import LockInfo


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_private_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    os.umask(0o022)
    backend = LocalBackend(tmp_path / "new" / "v2s.state.json")
    state = sample_state(2)
    backend.write(state)
    backend.write(state.model_copy(update={"serial": 1}))
    info = LockInfo.new("apply")
    backend.lock(info)
    assert mode(tmp_path / "new") == 0o700
    assert mode(backend.path) == 0o600
    assert mode(backend.backup_path) == 0o600
    assert mode(backend.lock_path) == 0o600
    assert LockInfo.model_validate_json(backend.lock_path.read_bytes()) == info
    backend.unlock(info.id)
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [
        "v2s.state.json",
        "v2s.state.json.backup",
    ]


def test_a_failed_write_keeps_the_previous_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = LocalBackend(tmp_path / "v2s.state.json")
    good = sample_state(2)
    backend.write(good)

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(StateError, match="No space left on device"):
        backend.write(sample_state(5))
    monkeypatch.undo()
    assert LocalBackend(backend.path).read() == good
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_stale_lock_record_does_not_block_but_a_live_one_does(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "v2s.state.json")
    dead = LockInfo.new("apply")
    backend.lock_path.write_bytes(dead.to_bytes())  # left by a run killed with SIGKILL
    assert backend.current_lock() is None
    backend.force_unlock(dead.id)  # force-unlock also clears a stale record
    assert not backend.lock_path.exists()


def test_from_config_defaults_and_relative_paths(tmp_path: Path) -> None:
    default = from_config(None, tmp_path)
    assert isinstance(default, LocalBackend) and default.path == tmp_path / DEFAULT_STATE_FILE
    rel = from_config({"local": {"path": "states/x.json"}}, tmp_path)
    assert isinstance(rel, LocalBackend) and rel.path == tmp_path / "states" / "x.json"


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"gcs": {}}, "expected exactly one of local, s3, got gcs"),
        ({"local": {}, "s3": {}}, "expected exactly one of"),
        ({"local": {"paht": "x"}}, "backend.local.paht: Extra inputs are not permitted"),
        ({"s3": {"key": "k"}}, "backend.s3.bucket: Field required"),
        ({"s3": {"bucket": "b", "key": "k"}}, "backend.s3.bucket: String should have at least 3"),
        (
            {"s3": {"bucket": "bkt", "key": "k", "request_checksum_calculation": "always"}},
            "backend.s3.request_checksum_calculation",
        ),
    ],
)
def test_bad_backend_blocks_are_clear_errors(
    tmp_path: Path, block: dict[str, object], message: str
) -> None:
    with pytest.raises(StateError) as bad:
        from_config(block, tmp_path)  # type: ignore[arg-type]
    assert message in str(bad.value)


def test_unreadable_state_is_a_state_error(tmp_path: Path) -> None:
    path = tmp_path / "v2s.state.json"
    path.mkdir()
    with pytest.raises(StateError, match="cannot read the state"):
        LocalBackend(path).read()


def test_racing_losers_name_the_live_winner_never_a_stale_record(tmp_path: Path) -> None:
    for trial in range(40):
        folder = tmp_path / str(trial)
        folder.mkdir()
        stale = LockInfo.new("dead run")
        (folder / "v2s.state.json.lock").write_bytes(stale.to_bytes())
        won, refused = race_for_lock([LocalBackend(folder / "v2s.state.json") for _ in range(6)])
        assert len(won) == 1, trial
        assert all(won[0].id in text and stale.id not in text for text in refused), refused


def test_temporary_files_of_dead_writers_are_removed_at_lock(tmp_path: Path) -> None:
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    orphan = tmp_path / f".v2s.state.json.{child.pid}.1.tmp"
    orphan_backup = tmp_path / f".v2s.state.json.backup.{child.pid}.tmp"
    alive = tmp_path / f".v2s.state.json.{os.getppid()}.1.tmp"
    for p in (orphan, orphan_backup, alive):
        p.write_bytes(b"partial")
    backend = LocalBackend(tmp_path / "v2s.state.json")
    info = LockInfo.new("apply")
    backend.lock(info)
    backend.unlock(info.id)
    assert not orphan.exists() and not orphan_backup.exists()
    assert alive.exists()
