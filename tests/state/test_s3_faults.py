"""The S3 backend under lost requests and lost answers (the lab's fault proxy before moto).

A lock write whose answer is lost is retried into a 412: the run reads the lock, finds
its own ID and proceeds. A release whose answer is lost is retried into a 404: success.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import live, project_config, run, write_config
from tests.lab.faultproxy import FaultProxy, Outcome
from tests.lab.s3 import MotoS3Server
from tests.state.conftest import s3_block, sample_state
from vmware2scw.errors import LockError
from vmware2scw.state.backend import from_config
from vmware2scw.state.lock import LockInfo
from vmware2scw.state.s3 import S3Backend

pytestmark = pytest.mark.lab
LOCK_KEY = "prod/v2s.state.json.lock"


def _on_lock(method: str, path: str) -> bool:
    return path.split("?", 1)[0].endswith(".lock") and method in ("PUT", "DELETE")


@pytest.fixture
def bucket(s3_server: MotoS3Server) -> Iterator[str]:
    name = f"v2s-faults-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(name)
    yield name
    s3_server.drop_bucket(name)


def through(proxy: FaultProxy, server: MotoS3Server, bucket: str) -> dict[str, Any]:
    block = s3_block(server, bucket, "prod/v2s.state.json")
    block["s3"]["endpoint"] = proxy.endpoint_url
    return block


@pytest.mark.parametrize("fault", ["reset-after", "reset-before", "503"])
def test_lock_and_unlock_survive_a_lost_request_or_answer(
    s3_server: MotoS3Server, bucket: str, tmp_path: Path, fault: Outcome
) -> None:
    direct = from_config(s3_block(s3_server, bucket, "prod/v2s.state.json"), tmp_path)
    with FaultProxy(s3_server.endpoint_url, rate=0.0, match=_on_lock) as proxy:
        backend = from_config(through(proxy, s3_server, bucket), tmp_path)
        info = LockInfo.new("apply")
        proxy.script = [fault]  # the lock's PUT: its first try fails this way
        assert backend.lock(info) == info.id
        assert direct.current_lock() == info
        proxy.script = [fault]  # the release's DELETE
        backend.unlock(info.id)
        assert direct.current_lock() is None
        assert proxy.counts[fault] == 2
        assert proxy.counts["ok"] == 2  # each retried once, and nothing else touched the lock


def test_a_lost_lock_answer_never_takes_another_runs_lock(
    s3_server: MotoS3Server, bucket: str, tmp_path: Path
) -> None:
    direct = from_config(s3_block(s3_server, bucket, "prod/v2s.state.json"), tmp_path)
    other = LockInfo.new("destroy")
    direct.lock(other)
    with FaultProxy(s3_server.endpoint_url, rate=0.0, match=_on_lock) as proxy:
        backend = from_config(through(proxy, s3_server, bucket), tmp_path)
        proxy.script = ["reset-after"]  # the refused write's answer is lost, the retry 412s
        with pytest.raises(LockError, match=other.id):
            backend.lock(LockInfo.new("apply"))
        assert direct.current_lock() == other
        proxy.script = ["reset-after"]
        with pytest.raises(LockError, match=other.id):
            backend.unlock("not-the-id")  # a wrong ID never deletes, faults or not
    assert direct.current_lock() == other
    direct.unlock(other.id)


def test_a_release_of_a_lock_someone_else_took_meanwhile_is_refused(
    s3_server: MotoS3Server, bucket: str, tmp_path: Path
) -> None:
    mine = from_config(s3_block(s3_server, bucket, "prod/v2s.state.json"), tmp_path)
    rescuer = from_config(s3_block(s3_server, bucket, "prod/v2s.state.json"), tmp_path)
    assert isinstance(mine, S3Backend)
    old, new = LockInfo.new("apply"), LockInfo.new("destroy")
    mine.lock(old)

    def meanwhile(**_: object) -> None:  # force-unlocked and re-taken before our delete
        rescuer.force_unlock(old.id)
        rescuer.lock(new)

    mine._client.meta.events.register_first("before-call.s3.DeleteObject", meanwhile)
    with pytest.raises(LockError, match=new.id):
        mine.unlock(old.id)
    assert rescuer.current_lock() == new


def _cycles(count: int, server: MotoS3Server, bucket: str, directory: Path,
            capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``count`` apply/destroy cycles through 10 % faults: no false failure, no stale lock."""
    direct = from_config(s3_block(server, bucket, "prod/v2s.state.json"), directory)
    began = time.monotonic()
    with FaultProxy(server.endpoint_url, rate=0.10, seed=count) as proxy:
        block = through(proxy, server, bucket)
        monkeypatch.setenv("SCW_ACCESS_KEY", block["s3"].pop("access_key"))
        monkeypatch.setenv("SCW_SECRET_KEY", block["s3"].pop("secret_key"))
        write_config(directory, project_config(vms=1, backend=block))
        for cycle in range(count):
            for command, alive in (("apply", 3), ("destroy", 0)):
                r = run(capsys, directory, command, "-auto-approve")
                assert r.code == 0, f"cycle {cycle} {command}: {r.text}\n{proxy.counts}"
                assert direct.current_lock() is None, f"cycle {cycle} {command}: stale lock"
                state = direct.read()  # parses: never half-written
                assert state is not None
                assert ("migration.m00.scw_server" in state.resources) == (command == "apply")
                assert len(live(directory)) == alive
    print(f"\n{count} apply/destroy cycles through the fault proxy in "
          f"{time.monotonic() - began:.1f} s; requests: {proxy.counts}")
    assert proxy.faults >= count  # ~10 % of some 40 requests per cycle


def test_apply_destroy_cycles_under_injected_faults(
    s3_server: MotoS3Server, bucket: str, tmp_path: Path, capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _cycles(10, s3_server, bucket, tmp_path, capsys, monkeypatch)


@pytest.mark.bench
def test_fifty_apply_destroy_cycles_under_injected_faults(
    s3_server: MotoS3Server, bucket: str, tmp_path: Path, capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _cycles(50, s3_server, bucket, tmp_path, capsys, monkeypatch)


def test_state_writes_survive_lost_answers(
    s3_server: MotoS3Server, bucket: str, tmp_path: Path
) -> None:
    direct = from_config(s3_block(s3_server, bucket, "prod/v2s.state.json"), tmp_path)
    with FaultProxy(s3_server.endpoint_url, rate=0.3, seed=7) as proxy:
        backend = from_config(through(proxy, s3_server, bucket), tmp_path)
        state = sample_state(2)
        for serial in range(1, 21):
            state = state.model_copy(update={"serial": serial})
            backend.write(state)
            assert direct.read() == state
            assert backend.read() == state
    assert proxy.counts["reset-after"] > 0 and proxy.counts["503"] > 0
