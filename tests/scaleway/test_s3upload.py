"""Multipart upload against moto: part sizing, integrity, resume, adoption, cleanup."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from v2s_scaleway.s3client import delete_object, ensure_bucket, list_uploads, make_s3_client
from v2s_scaleway.s3upload import MAX_PARTS, MiB, Uploader, choose_part_size

from tests.lab.s3 import ACCESS_KEY, REGION, SECRET_KEY, MotoS3Server
from vmware2scw.errors import ProviderError, TransientError
from vmware2scw.testing import RecordingContext

ADDR = "migration.web-01.s3_object[0]"


def client(server: MotoS3Server, **kw: Any) -> Any:
    return make_s3_client(region=REGION, endpoint=server.endpoint_url, access_key=ACCESS_KEY,
                          secret_key=SECRET_KEY, verify=server.verify, **kw)


def make_file(path: Path, size: int, seed: int = 1) -> Path:
    block = hashlib.sha256(str(seed).encode()).digest() * (MiB // 32)
    with path.open("wb") as f:
        left = size
        i = 0
        while left > 0:
            chunk = (block[i % 32:] + block[: i % 32])[: min(MiB, left)]
            f.write(chunk)
            left -= len(chunk)
            i += 1
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored_sha(s3: Any, bucket: str, key: str) -> str:
    return hashlib.sha256(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


class FailingS3:
    """Delegates to a real client; ``upload_part`` fails for the given part numbers."""

    def __init__(self, s3: Any, fail_parts: set[int]):
        self._s3, self.fail_parts = s3, fail_parts
        self.sent: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def upload_part(self, **kw: Any) -> Any:
        if kw["PartNumber"] in self.fail_parts:
            raise OSError("connection reset by peer")
        self.sent.append(kw["PartNumber"])
        return self._s3.upload_part(**kw)


@pytest.mark.parametrize(
    ("size", "expected"),
    [(1, 5 * MiB), (100 * MiB, 5 * MiB), (6000 * MiB, 6 * MiB), (100 * 1024 * MiB, 103 * MiB)],
)
def test_part_size_keeps_parts_within_scaleway_limits(size: int, expected: int) -> None:
    part = choose_part_size(size)
    assert part == expected
    assert -(-size // part) <= MAX_PARTS
    assert part >= 5 * MiB


def test_requested_part_size_is_raised_when_it_would_exceed_1000_parts() -> None:
    assert choose_part_size(20_000 * MiB, 8 * MiB) == 20 * MiB
    assert choose_part_size(10 * MiB, 8 * MiB) == 8 * MiB


def test_upload_stores_exact_bytes_with_sha_metadata(s3_server, s3_bucket, tmp_path) -> None:
    s3 = client(s3_server)
    src = make_file(tmp_path / "d.qcow2", 12 * MiB + 123)
    ctx = RecordingContext(ADDR)
    res = Uploader(s3, path=src, bucket=s3_bucket, key="k/disk0.qcow2", ctx=ctx,
                   metadata={"v2s-sha256": sha(src)}).run()
    assert res.parts == 3 and res.size == src.stat().st_size and res.sha256 == sha(src)
    assert res.bytes_sent == src.stat().st_size
    assert stored_sha(s3, s3_bucket, "k/disk0.qcow2") == sha(src)
    assert s3.head_object(Bucket=s3_bucket, Key="k/disk0.qcow2")["ETag"] == res.etag
    assert ctx.events[-1][1] == ctx.events[-1][2] == src.stat().st_size
    assert ctx.last_checkpoint and len(ctx.last_checkpoint["parts"]) == 3


def test_rerun_after_failure_sends_only_missing_parts(s3_server, s3_bucket, tmp_path) -> None:
    s3 = client(s3_server)
    src = make_file(tmp_path / "d.qcow2", 26 * MiB)  # 6 parts of 5 MiB
    ctx = RecordingContext(ADDR)
    flaky = FailingS3(s3, {5, 6})
    with pytest.raises(TransientError):
        Uploader(flaky, path=src, bucket=s3_bucket, key="r.qcow2", ctx=ctx, concurrency=1,
                 checkpoint_every=0).run()
    cp = ctx.last_checkpoint
    assert cp is not None and cp["upload_id"] and set(cp["parts"]) == {"1", "2", "3", "4"}
    again = FailingS3(s3, set())
    res = Uploader(again, path=src, bucket=s3_bucket, key="r.qcow2", ctx=RecordingContext(ADDR),
                   checkpoint=cp).run()
    assert sorted(again.sent) == [5, 6]
    assert res.bytes_sent == 6 * MiB and res.upload_id == cp["upload_id"]
    assert stored_sha(s3, s3_bucket, "r.qcow2") == sha(src)


def test_orphan_upload_without_checkpoint_is_reused(s3_server, s3_bucket, tmp_path) -> None:
    """A crash before the first checkpoint: the in-progress upload of the key is found."""
    s3 = client(s3_server)
    src = make_file(tmp_path / "d.qcow2", 11 * MiB)
    with pytest.raises(TransientError):
        Uploader(FailingS3(s3, {3}), path=src, bucket=s3_bucket, key="o.qcow2",
                 ctx=RecordingContext(ADDR), concurrency=1).run()
    again = FailingS3(s3, set())
    res = Uploader(again, path=src, bucket=s3_bucket, key="o.qcow2",
                   ctx=RecordingContext(ADDR)).run()
    assert again.sent == [3]
    assert stored_sha(s3, s3_bucket, "o.qcow2") == sha(src) and res.parts == 3


def test_stored_part_with_other_bytes_is_sent_again(s3_server, s3_bucket, tmp_path) -> None:
    s3 = client(s3_server)
    src = make_file(tmp_path / "d.qcow2", 10 * MiB)
    up = s3.create_multipart_upload(Bucket=s3_bucket, Key="c.qcow2")["UploadId"]
    s3.upload_part(Bucket=s3_bucket, Key="c.qcow2", UploadId=up, PartNumber=1,
                   Body=b"x" * (5 * MiB))
    spy = FailingS3(s3, set())
    Uploader(spy, path=src, bucket=s3_bucket, key="c.qcow2", ctx=RecordingContext(ADDR),
             checkpoint={"upload_id": up, "key": "c.qcow2", "parts": {"1": "bogus"}}).run()
    assert sorted(spy.sent) == [1, 2]
    assert stored_sha(s3, s3_bucket, "c.qcow2") == sha(src)


def test_finished_object_is_adopted_without_sending(s3_server, s3_bucket, tmp_path) -> None:
    s3 = client(s3_server)
    src = make_file(tmp_path / "d.qcow2", 6 * MiB)
    meta = {"v2s-sha256": sha(src)}
    Uploader(s3, path=src, bucket=s3_bucket, key="a.qcow2", ctx=RecordingContext(ADDR),
             metadata=meta).run()
    spy = FailingS3(s3, set())
    res = Uploader(spy, path=src, bucket=s3_bucket, key="a.qcow2", ctx=RecordingContext(ADDR),
                   metadata=meta).run()
    assert res.adopted and res.bytes_sent == 0 and spy.sent == []


def test_changed_source_is_refused(s3_server, s3_bucket, tmp_path) -> None:
    src = make_file(tmp_path / "d.qcow2", 5 * MiB)
    with pytest.raises(ProviderError, match="changed since"):
        Uploader(client(s3_server), path=src, bucket=s3_bucket, key="x.qcow2",
                 ctx=RecordingContext(ADDR), expected_sha256="0" * 64).run()


def test_missing_source_file_names_the_address(s3_server, s3_bucket, tmp_path) -> None:
    with pytest.raises(ProviderError) as err:
        Uploader(client(s3_server), path=tmp_path / "nope.qcow2", bucket=s3_bucket,
                 key="x.qcow2", ctx=RecordingContext(ADDR)).run()
    assert ADDR in str(err.value)


def test_delete_removes_object_and_stray_uploads(s3_server, s3_bucket, tmp_path) -> None:
    s3 = client(s3_server)
    src = make_file(tmp_path / "d.qcow2", 5 * MiB)
    Uploader(s3, path=src, bucket=s3_bucket, key="z.qcow2", ctx=RecordingContext(ADDR)).run()
    s3.create_multipart_upload(Bucket=s3_bucket, Key="z.qcow2")
    delete_object(s3, s3_bucket, "z.qcow2")
    assert list_uploads(s3, s3_bucket, "z.qcow2") == []
    assert "Contents" not in s3.list_objects_v2(Bucket=s3_bucket)
    delete_object(s3, s3_bucket, "z.qcow2")  # idempotent


def test_bucket_is_created_in_the_region(s3_server) -> None:
    s3 = client(s3_server)
    assert ensure_bucket(s3, "v2s-new-bucket-x1", REGION) is True
    assert ensure_bucket(s3, "v2s-new-bucket-x1", REGION) is False
    loc = s3.get_bucket_location(Bucket="v2s-new-bucket-x1")["LocationConstraint"]
    assert loc == REGION


@pytest.mark.parametrize("mode", ["when_required", "when_supported"])
def test_upload_over_tls_in_both_checksum_modes(s3_server_tls, s3_bucket_tls, tmp_path,
                                                mode: str) -> None:
    s3 = client(s3_server_tls, request_checksum_calculation=mode,
                response_checksum_validation=mode)
    src = make_file(tmp_path / "d.qcow2", 7 * MiB, seed=3)
    Uploader(s3, path=src, bucket=s3_bucket_tls, key=f"{mode}.qcow2",
             ctx=RecordingContext(ADDR)).run()
    assert stored_sha(s3, s3_bucket_tls, f"{mode}.qcow2") == sha(src)


def test_256mib_upload_killed_at_60_percent_resends_at_most_half(
    s3_server, s3_bucket, tmp_path
) -> None:
    """Acceptance: SIGKILL at ~60 %, rerun sends <= 50 % again, object matches the file."""
    size = 256 * MiB
    src = make_file(tmp_path / "big.qcow2", size, seed=7)
    cp_file = tmp_path / "cp.json"
    env = {**os.environ, "PYTHONPATH": f"{Path.cwd()}:{Path.cwd() / 'providers'}"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.scaleway.upload_child", s3_server.endpoint_url,
         s3_bucket, "big.qcow2", str(src), str(cp_file)], env=env,
    )
    import json

    deadline = time.monotonic() + 120
    done_parts = 0
    while time.monotonic() < deadline and child.poll() is None:
        if cp_file.exists():
            try:
                cp = json.loads(cp_file.read_text())
            except ValueError:
                cp = {}
            done_parts = len(cp.get("parts", {}))
            if done_parts * cp.get("part_size", 0) >= 0.6 * size:
                child.send_signal(signal.SIGKILL)
                break
        time.sleep(0.01)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    cp = json.loads(cp_file.read_text())
    s3 = client(s3_server)
    spy = FailingS3(s3, set())
    ctx = RecordingContext(ADDR)
    res = Uploader(spy, path=src, bucket=s3_bucket, key="big.qcow2", ctx=ctx, checkpoint=cp).run()
    print(f"killed after {done_parts} parts; rerun sent {res.bytes_sent / MiB:.0f} MiB "
          f"of {size / MiB:.0f} MiB")
    assert res.bytes_sent <= size / 2
    assert stored_sha(s3, s3_bucket, "big.qcow2") == sha(src)


class CorruptingS3(FailingS3):
    """Flips one byte of part 2 on the wire (after v2s computed its MD5)."""

    def upload_part(self, **kw: Any) -> Any:
        if kw["PartNumber"] == 2:
            body = bytearray(kw["Body"])
            body[100] ^= 0xFF
            kw["Body"] = bytes(body)
        return super().upload_part(**kw)


def test_a_part_corrupted_in_transit_is_rejected_and_resent(s3_server, s3_bucket,
                                                            tmp_path) -> None:
    s3 = client(s3_server)
    src = make_file(tmp_path / "d.qcow2", 12 * MiB)
    ctx = RecordingContext(ADDR)
    with pytest.raises(TransientError, match="part 2"):
        Uploader(CorruptingS3(s3, set()), path=src, bucket=s3_bucket, key="bad.qcow2", ctx=ctx,
                 concurrency=1, checkpoint_every=0).run()
    spy = FailingS3(s3, set())
    Uploader(spy, path=src, bucket=s3_bucket, key="bad.qcow2", ctx=RecordingContext(ADDR),
             checkpoint=ctx.last_checkpoint).run()
    assert 2 in spy.sent and 1 not in spy.sent
    assert stored_sha(s3, s3_bucket, "bad.qcow2") == sha(src)
