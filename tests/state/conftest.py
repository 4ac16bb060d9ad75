"""Backends under test: every contract test runs against local, S3 over HTTP and S3 over TLS."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.lab.s3 import ACCESS_KEY, SECRET_KEY, MotoS3Server
from vmware2scw.errors import LockError
from vmware2scw.state.backend import Backend, from_config
from vmware2scw.state.lock import LockInfo
from vmware2scw.state.model import ResourceState, State

BackendFactory = Callable[[], Backend]


def s3_block(server: MotoS3Server, bucket: str, key: str) -> dict[str, Any]:
    """The ``backend:`` block of a config pointing at the lab server."""
    return {
        "s3": {
            "bucket": bucket,
            "key": key,
            "region": server.region,
            "endpoint": server.endpoint_url,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "verify": server.verify,
        }
    }


KINDS = [
    "local",
    pytest.param("s3-http", marks=pytest.mark.lab),
    pytest.param("s3-tls", marks=pytest.mark.lab),
]


@pytest.fixture(params=KINDS)
def backend_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A ``backend:`` block for a fresh, empty state on each kind of backend."""
    if request.param == "local":
        return {"local": {"path": str(tmp_path / "state" / "v2s.state.json")}}
    fixture = "s3_server" if request.param == "s3-http" else "s3_server_tls"
    server: MotoS3Server = request.getfixturevalue(fixture)
    bucket = f"v2s-state-{uuid.uuid4().hex[:10]}"
    server.create_bucket(bucket)
    return s3_block(server, bucket, "prod/v2s.state.json")


@pytest.fixture
def make_backend(backend_config: dict[str, Any], tmp_path: Path) -> BackendFactory:
    """Makes independent Backend objects on the same storage (as two runs would)."""
    return lambda: from_config(backend_config, tmp_path)


def resource(address: str, **attributes: Any) -> ResourceState:
    kind = address.rsplit(".", 1)[-1].split("[")[0]
    return ResourceState(address=address, type=kind, provider="test", attributes=attributes)


def sample_state(n: int = 3, **kw: Any) -> State:
    state = State(**kw)
    for i in range(n):
        state = state.with_resource(resource(f"migration.vm-{i}.scw_server", name=f"vm-{i}", i=i))
    return state


def race_for_lock(backends: list[Backend]) -> tuple[list[LockInfo], list[str]]:
    """Release all ``backends`` at once at ``lock``; the winners' records and the refusals."""
    gate = threading.Barrier(len(backends))
    won: list[LockInfo] = []
    refused: list[str] = []

    def attempt(backend: Backend) -> None:
        info = LockInfo.new("apply")
        gate.wait()
        try:
            backend.lock(info)
            won.append(info)
        except LockError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=attempt, args=(b,)) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won, refused
