"""StateManager: serial, lineage guard, sensitive attributes, thread-safe group commit."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.state.conftest import BackendFactory, resource, sample_state
from vmware2scw.errors import LockError, StateError
from vmware2scw.state.local import LocalBackend
from vmware2scw.state.manager import StateManager
from vmware2scw.state.model import ResourceState, State


class SlowBackend(LocalBackend):
    """A local backend that counts writes and can be held inside one."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.inside = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.written: list[int] = []

    def write(self, state: State) -> None:
        self.inside.set()
        self.release.wait(timeout=30)
        super().write(state)
        self.written.append(state.serial)


def test_serial_increments_on_every_persist(make_backend: BackendFactory) -> None:
    manager = StateManager(make_backend())
    assert manager.persist().serial == 1
    assert manager.put(resource("migration.a.scw_server", name="a")).serial == 2
    assert manager.remove("migration.a.scw_server").serial == 3
    stored = make_backend().read()
    assert stored is not None and stored.serial == 3 and stored.resources == {}
    again = StateManager.load(make_backend())
    assert again.state == stored
    assert again.persist().serial == 4


def test_a_state_of_another_lineage_is_refused(make_backend: BackendFactory) -> None:
    manager = StateManager(make_backend(), state=sample_state(1))
    manager.persist()
    with pytest.raises(StateError, match="refusing to write a state of lineage"):
        manager.persist(sample_state(1))
    assert make_backend().read() == manager.state


def test_sensitive_attributes_never_reach_the_backend(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "v2s.state.json")
    manager = StateManager(
        backend, sensitive={"scw_server": ["admin_password", "cloud_init.token"]}
    )
    secret = "hunter2-S3CR3T"
    rs = ResourceState(
        address="migration.web.scw_server",
        type="scw_server",
        provider="scaleway",
        attributes={"name": "web", "admin_password": secret, "cloud_init": {"token": secret}},
        checkpoint={"admin_password": secret, "step": 2},
    )
    other = resource("migration.web.disk_export[0]", admin_password="not-sensitive-here")
    manager.update(lambda s: s.with_resource(rs).with_resource(other))
    text = backend.path.read_text()
    assert secret not in text
    assert secret not in json.dumps(manager.state.model_dump())
    saved = backend.read()
    assert saved is not None
    server = saved.resources["migration.web.scw_server"]
    assert server.attributes == {"name": "web", "cloud_init": {}}
    assert server.checkpoint == {"step": 2}
    assert saved.resources[other.address].attributes == {"admin_password": "not-sensitive-here"}


def test_sensitive_values_in_a_loaded_state_are_dropped_on_next_write(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "v2s.state.json")
    backend.write(State().with_resource(resource("migration.a.scw_server", token="T0K3N")))
    manager = StateManager.load(backend, sensitive={"scw_server": ["token"]})
    manager.persist()
    assert "T0K3N" not in backend.path.read_text()


def test_concurrent_persists_lose_nothing_and_share_writes(tmp_path: Path) -> None:
    backend = SlowBackend(tmp_path / "v2s.state.json")
    manager = StateManager(backend)
    threads_n, each = 8, 25
    gate = threading.Barrier(threads_n)

    def work(t: int) -> None:
        gate.wait()
        for i in range(each):
            manager.put(resource(f"migration.m{t}.disk_export[{i}]", n=i))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = LocalBackend(backend.path).read()
    assert stored is not None
    assert len(stored.resources) == threads_n * each
    assert stored.serial == manager.state.serial == threads_n * each
    assert backend.written == sorted(backend.written)  # never an older state over a newer one
    assert len(backend.written) <= threads_n * each


def test_persist_returns_only_after_its_change_is_stored(tmp_path: Path) -> None:
    backend = SlowBackend(tmp_path / "v2s.state.json")
    manager = StateManager(backend)
    backend.release.clear()
    first = threading.Thread(target=manager.put, args=(resource("migration.a.scw_server"),))
    first.start()
    assert backend.inside.wait(timeout=30)  # the first write is in progress and held
    done = threading.Event()

    def second() -> None:
        manager.put(resource("migration.b.scw_server"))
        done.set()

    t2 = threading.Thread(target=second)
    t2.start()
    assert not done.wait(timeout=0.2)  # queued behind the held write, not returned early
    backend.release.set()
    first.join()
    t2.join()
    assert done.is_set()
    stored = LocalBackend(backend.path).read()
    assert stored is not None and set(stored.resources) == {
        "migration.a.scw_server",
        "migration.b.scw_server",
    }
    assert backend.written == [1, 2]


def test_a_failed_write_raises_and_the_next_persist_stores_everything(tmp_path: Path) -> None:
    backend = SlowBackend(tmp_path / "v2s.state.json")
    manager = StateManager(backend)
    (tmp_path / "v2s.state.json").mkdir()  # writes fail: a folder is in the way
    with pytest.raises(StateError):
        manager.put(resource("migration.a.scw_server"))
    (tmp_path / "v2s.state.json").rmdir()
    manager.put(resource("migration.b.scw_server"))
    stored = LocalBackend(backend.path).read()
    assert stored is not None and len(stored.resources) == 2


def test_locked_holds_the_backend_lock(make_backend: BackendFactory) -> None:
    manager = StateManager(make_backend())
    with manager.locked("apply") as info:
        assert make_backend().current_lock() == info
        with pytest.raises(LockError, match="'apply'"):
            StateManager(make_backend()).locked("destroy").__enter__()
    assert make_backend().current_lock() is None
