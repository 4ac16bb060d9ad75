"""Link limits (off by default): the token bucket, S3 uploads through the throttled relay,
paced import downloads and paced device writes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.lab.s3 import MotoS3Server
from tests.lab.scwsim.importer import ObjectStorage, S3Config
from tests.lab.throttle import TokenBucket, paced_copy, rate_from_env

MIB = 2**20


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_token_bucket_paces_to_its_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(MIB, clock=t.clock, sleep=t.sleep)
    for _ in range(40):
        bucket.take(MIB // 4)  # 10 MiB in all at 1 MiB/s, after a burst of bucket.burst
    expected = (10 * MIB - bucket.burst) / MIB
    assert expected - 0.01 <= t.now <= expected + 0.3


def test_a_big_take_pays_later() -> None:
    t = FakeTime()
    bucket = TokenBucket(MIB, burst=MIB / 10, clock=t.clock, sleep=t.sleep)
    bucket.take(5 * MIB)  # goes 4.9 MiB into debt at once
    bucket.take(1)
    assert t.now == pytest.approx(4.9, abs=0.01)


def test_rates_from_the_environment() -> None:
    assert rate_from_env("X", {}) is None
    assert rate_from_env("X", {"X": " "}) is None
    assert rate_from_env("X", {"X": "104857600"}) == 100 * MIB
    with pytest.raises(ValueError, match="positive"):
        rate_from_env("X", {"X": "0"})


def test_s3_uploads_go_through_the_throttled_relay(tmp_path: Path) -> None:
    """MotoS3Server(upload_rate=...): clients reach moto through the relay, bytes intact,
    and 6 MiB at 8 MiB/s cannot arrive faster than the bucket allows."""
    payload = os.urandom(6 * MIB)
    src = tmp_path / "obj.bin"
    src.write_bytes(payload)
    with MotoS3Server(upload_rate=8 * MIB) as s3:
        assert s3.relay is not None and s3.relay.up is not None
        assert f":{s3.relay.port}" in s3.endpoint_url and s3.relay.port != s3.port
        burst = s3.relay.up.burst
        c = s3.client()
        s3.create_bucket("v2s-relay-test")
        t0 = time.monotonic()
        c.upload_file(str(src), "v2s-relay-test", "k.bin")
        took = time.monotonic() - t0
        assert c.get_object(Bucket="v2s-relay-test", Key="k.bin")["Body"].read() == payload
    assert took >= (6 * MIB - burst) / (8 * MIB)  # never faster than the link


def test_import_downloads_are_paced_and_intact(s3_server: MotoS3Server, s3_bucket: str,
                                               tmp_path: Path) -> None:  # fmt: skip
    payload = os.urandom(3 * MIB)
    s3_server.client().put_object(Bucket=s3_bucket, Key="x.qcow2", Body=payload)
    config = S3Config({"fr-par": s3_server.endpoint_url}, import_rate=4 * MIB)
    t0 = time.monotonic()
    ObjectStorage(config).download("fr-par", s3_bucket, "x.qcow2", tmp_path / "x")
    took = time.monotonic() - t0
    assert (tmp_path / "x").read_bytes() == payload
    assert took >= (3 * MIB - 4 * MIB / 10) / (4 * MIB)


def test_paced_copy_writes_only_data_extents(tmp_path: Path) -> None:
    src, dest = tmp_path / "src.raw", tmp_path / "dev"
    with src.open("wb") as f:
        f.truncate(64 * MIB)
        f.seek(MIB)
        f.write(b"a" * 4096)
        f.seek(40 * MIB)
        f.write(b"b" * 8192)
    with dest.open("wb") as f:
        f.truncate(128 * MIB)
    written = paced_copy(src, dest, rate=64 * MIB)
    assert 12288 <= written < MIB  # the two extents (filesystem blocks), not 64 MiB
    with dest.open("rb") as f:
        f.seek(MIB)
        assert f.read(4096) == b"a" * 4096
        f.seek(40 * MIB)
        assert f.read(8192) == b"b" * 8192
    assert os.path.getsize(dest) == 128 * MIB
