"""Fixtures for the simulator's tests: a fresh simulator per test on the session's S3.

Every test here is marked ``lab``. ``sim`` runs fast (50 simulated seconds per
second); ``manual_sim`` has a stopped clock moved only by ``sim.advance()``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.s3 import MotoS3Server
from tests.lab.scwsim import Simulator

GIB = 2**30


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/scwsim/" in item.path.as_posix():
            item.add_marker(pytest.mark.lab)


def _qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small test images: valid qcow2 (1 GiB virtual), raw, zstd, backing file, too small."""
    d = tmp_path_factory.mktemp("scwsim-images")
    out = {
        "valid": d / "valid.qcow2",
        "raw": d / "raw.img",
        "zstd": d / "zstd.qcow2",
        "backing": d / "backing.qcow2",
        "small": d / "small.qcow2",
        "encrypted": d / "encrypted.qcow2",
    }
    _qemu_img("create", "-q", "-f", "qcow2", str(out["valid"]), "1G")
    _qemu_img("create", "-q", "-f", "raw", str(out["raw"]), "16M")
    _qemu_img("create", "-q", "-f", "qcow2", "-o", "compression_type=zstd", str(out["zstd"]), "1G")
    _qemu_img(
        "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(out["valid"]), str(out["backing"])
    )
    _qemu_img("create", "-q", "-f", "qcow2", str(out["small"]), "100M")
    _qemu_img(
        "create", "-q", "-f", "qcow2", "--object", "secret,id=sec0,data=lab-secret",
        "-o", "encrypt.format=aes,encrypt.key-secret=sec0", str(out["encrypted"]), "1G",
    )  # fmt: skip
    return out


def _simulator(s3: MotoS3Server, speed: float) -> Iterator[Simulator]:
    with Simulator(s3_endpoint=s3.endpoint_url, speed=speed) as sim:
        yield sim
        sim.wait_workers()
        assert sim.internal_errors == [], sim.internal_errors


@pytest.fixture
def sim(s3_server: MotoS3Server) -> Iterator[Simulator]:
    """A simulator whose clock runs 50x: an import takes ~0.1 s, a poweroff ~0.7 s."""
    yield from _simulator(s3_server, 50.0)


@pytest.fixture
def manual_sim(s3_server: MotoS3Server) -> Iterator[Simulator]:
    """A simulator whose clock only moves with ``sim.advance(seconds)``."""
    yield from _simulator(s3_server, 0.0)


@pytest.fixture
def upload(s3_server: MotoS3Server, s3_bucket: str):  # type: ignore[no-untyped-def]
    """``upload(path, key) -> (bucket, key)`` into a fresh fr-par bucket."""

    def put(path: Path, key: str, bucket: str = s3_bucket) -> tuple[str, str]:
        s3_server.client().upload_file(str(path), bucket, key)
        return bucket, key

    return put
