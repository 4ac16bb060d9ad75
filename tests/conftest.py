"""Session fixtures shared by every test directory: the lab's S3 server (plain and TLS).

Tests that use ``s3_server``/``s3_server_tls`` are marked ``lab`` automatically.
``s3_bucket``/``s3_bucket_tls`` give each test a fresh, empty bucket on the server.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest

from tests.lab.s3 import MotoS3Server

_S3_FIXTURES = {"s3_server", "s3_server_tls", "s3_bucket", "s3_bucket_tls"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _S3_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoS3Server]:
    """A moto S3 server over plain HTTP on 127.0.0.1, for the whole session."""
    with MotoS3Server() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server_tls() -> Iterator[MotoS3Server]:
    """A moto S3 server over HTTPS (self-signed; verify with ``server.ca_bundle``)."""
    with MotoS3Server(tls=True) as server:
        yield server


@contextlib.contextmanager
def _fresh_bucket(server: MotoS3Server) -> Iterator[str]:
    """A new bucket, emptied and deleted afterwards (moto keeps objects in memory)."""
    name = f"v2s-test-{uuid.uuid4().hex[:12]}"
    server.create_bucket(name)
    yield name
    server.drop_bucket(name)


@pytest.fixture
def s3_bucket(s3_server: MotoS3Server) -> Iterator[str]:
    """The name of a new empty bucket on ``s3_server``."""
    with _fresh_bucket(s3_server) as name:
        yield name


@pytest.fixture
def s3_bucket_tls(s3_server_tls: MotoS3Server) -> Iterator[str]:
    """The name of a new empty bucket on ``s3_server_tls``."""
    with _fresh_bucket(s3_server_tls) as name:
        yield name
