"""The contract every state backend passes (local file, S3 over HTTP, S3 over TLS)."""

from __future__ import annotations

import pytest

from tests.state.conftest import BackendFactory, race_for_lock, resource, sample_state
from vmware2scw.errors import LockError, StateError
from vmware2scw.state import codec
from vmware2scw.state.backend import Backend
from vmware2scw.state.lock import LockInfo, held
from vmware2scw.state.model import State


def test_empty_backend_reads_none(make_backend: BackendFactory) -> None:
    backend = make_backend()
    assert isinstance(backend, Backend)
    assert backend.read() is None
    assert backend.read_backup() is None
    assert backend.current_lock() is None


def test_write_then_read_round_trips(make_backend: BackendFactory) -> None:
    state = sample_state(5, serial=3).with_resource(
        resource("migration.été.scw_server", name="café ☕", nested={"a": [1, 2, {"b": None}]})
    )
    make_backend().write(state)
    assert make_backend().read() == state


def test_write_bytes_stores_encoded_state(make_backend: BackendFactory) -> None:
    state = sample_state(2, serial=9)
    make_backend().write_bytes(codec.dumps(state))
    assert make_backend().read() == state


def test_backup_holds_the_previous_version(make_backend: BackendFactory) -> None:
    backend = make_backend()
    first, second = sample_state(1, serial=1), sample_state(2, serial=2)
    second = second.model_copy(update={"lineage": first.lineage})
    third = second.model_copy(update={"serial": 3})
    backend.write(first)
    assert backend.read_backup() is None
    backend.write(second)
    assert backend.read_backup() == first
    make_backend().write(third)  # another run: the backup follows the stored state
    assert make_backend().read_backup() == second
    assert make_backend().read() == third


def test_describe_names_the_location(make_backend: BackendFactory) -> None:
    text = make_backend().describe()
    assert text.endswith("v2s.state.json")
    assert text.startswith(("/", "s3://"))


def test_second_locker_is_refused_naming_holder_operation_and_way_out(
    make_backend: BackendFactory,
) -> None:
    first, second = make_backend(), make_backend()
    info = LockInfo.new("apply")
    assert first.lock(info) == info.id
    with pytest.raises(LockError) as refused:
        second.lock(LockInfo.new("destroy"))
    text = str(refused.value)
    assert info.who in text
    assert "'apply'" in text
    assert f"v2s force-unlock {info.id}" in text
    assert second.current_lock() == info
    first.unlock(info.id)
    assert second.current_lock() is None
    other = LockInfo.new("destroy")
    assert second.lock(other) == other.id
    second.unlock(other.id)


def test_lock_is_exclusive_within_one_backend_object(make_backend: BackendFactory) -> None:
    backend = make_backend()
    info = LockInfo.new("apply")
    backend.lock(info)
    with pytest.raises(LockError):
        backend.lock(LockInfo.new("apply"))
    backend.unlock(info.id)


def test_unlock_with_a_wrong_id_keeps_the_lock(make_backend: BackendFactory) -> None:
    backend = make_backend()
    info = LockInfo.new("apply")
    backend.lock(info)
    with pytest.raises(StateError, match=info.id):
        backend.unlock("not-the-id")
    assert make_backend().current_lock() == info
    backend.unlock(info.id)


def test_force_unlock_removes_another_runs_lock(make_backend: BackendFactory) -> None:
    holder, rescuer = make_backend(), make_backend()
    info = LockInfo.new("apply")
    holder.lock(info)
    with pytest.raises(StateError, match=info.id):
        rescuer.force_unlock("wrong-id")
    rescuer.force_unlock(info.id)
    assert rescuer.current_lock() is None
    mine = LockInfo.new("apply")
    rescuer.lock(mine)  # the lock is free again
    assert make_backend().current_lock() == mine
    rescuer.unlock(mine.id)


def test_force_unlock_of_no_lock_is_an_error(make_backend: BackendFactory) -> None:
    with pytest.raises(StateError, match="not locked"):
        make_backend().force_unlock("0000")


def test_held_releases_on_error(make_backend: BackendFactory) -> None:
    backend = make_backend()
    with pytest.raises(RuntimeError), held(backend, "apply"):
        assert make_backend().current_lock() is not None
        raise RuntimeError("boom")
    assert make_backend().current_lock() is None


def test_racing_lockers_have_exactly_one_winner(make_backend: BackendFactory) -> None:
    won, refused = race_for_lock([make_backend() for _ in range(6)])
    assert len(won) == 1
    assert len(refused) == 5
    assert all(won[0].id in text for text in refused)


def test_corrupt_state_names_the_file_and_the_backup(make_backend: BackendFactory) -> None:
    backend = make_backend()
    good = sample_state(2, serial=1)
    backend.write(good)
    backend.write_bytes(b'{"format_version": 1, "lineage": "x", "serial": ')
    with pytest.raises(StateError) as bad:
        make_backend().read()
    text = str(bad.value)
    assert backend.describe() in text
    assert "backup" in text
    assert make_backend().read_backup() == good


def test_newer_format_version_is_refused_clearly(make_backend: BackendFactory) -> None:
    backend = make_backend()
    newer = codec.dumps(sample_state(1)).replace(b'"format_version": 1', b'"format_version": 7')
    backend.write_bytes(newer)
    with pytest.raises(StateError, match=r"format_version 7 was written by a newer v2s"):
        backend.read()


def test_empty_state_round_trips(make_backend: BackendFactory) -> None:
    state = State()
    make_backend().write(state)
    assert make_backend().read() == state
