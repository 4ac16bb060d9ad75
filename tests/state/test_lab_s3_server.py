"""The lab's S3 server: fast start on loopback, HTTP and TLS, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import botocore.exceptions
import pytest

from tests.lab.s3 import MotoS3Server

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_starts_fast_on_loopback_and_leaves_nothing(tls: bool) -> None:
    started = time.monotonic()
    server = MotoS3Server(tls=tls).start()
    try:
        assert time.monotonic() - started < 10
        assert server.endpoint_url.startswith(("https" if tls else "http") + "://127.0.0.1:")
        server.create_bucket("lab-probe")
        server.client().put_object(Bucket="lab-probe", Key="k", Body=b"hello")
        body = server.client().get_object(Bucket="lab-probe", Key="k")["Body"].read()
        assert body == b"hello"
        assert server.proc is not None and server.tmpdir is not None
        pid, tmpdir = server.proc.pid, server.tmpdir
    finally:
        server.stop()
    assert not tmpdir.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    server.stop()  # idempotent


def test_tls_is_verified_against_the_lab_ca(s3_server_tls: MotoS3Server) -> None:
    import boto3

    untrusting = boto3.client(
        "s3",
        endpoint_url=s3_server_tls.endpoint_url,
        region_name=s3_server_tls.region,
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    with pytest.raises(botocore.exceptions.SSLError):
        untrusting.list_buckets()
    assert "Buckets" in s3_server_tls.client().list_buckets()


def test_tls_carries_aws_chunked_trailing_checksums(
    s3_server_tls: MotoS3Server, s3_bucket_tls: str
) -> None:
    client = s3_server_tls.client(request_checksum_calculation="when_supported")
    seen: list[str] = []
    client.meta.events.register(
        "before-send.s3.PutObject",
        lambda request, **_: seen.append(request.headers.get("Content-Encoding", b"")),
    )
    client.put_object(Bucket=s3_bucket_tls, Key="chunked", Body=b"x" * 70_000)
    assert client.get_object(Bucket=s3_bucket_tls, Key="chunked")["Body"].read() == b"x" * 70_000
    assert any(b"aws-chunked" in (v if isinstance(v, bytes) else v.encode()) for v in seen)


def test_conditional_create_has_exactly_one_winner(s3_server: MotoS3Server, s3_bucket: str) -> None:
    client = s3_server.client()
    client.put_object(Bucket=s3_bucket, Key="lock", Body=b"a", IfNoneMatch="*")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.put_object(Bucket=s3_bucket, Key="lock", Body=b"b", IfNoneMatch="*")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_server_dies_with_a_parent_killed_by_sigkill(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    code = (
        "from tests.lab.s3 import MotoS3Server\n"
        "s = MotoS3Server().start()\n"
        "print(s.proc.pid, s.tmpdir, flush=True)\n"
        "import sys; sys.stdin.read()\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pid_text, tmpdir = parent.stdout.readline().split()  # type: ignore[union-attr]
        pid = int(pid_text)
        os.kill(pid, 0)  # the server runs
        parent.kill()
        parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            pytest.fail("the moto server outlived its SIGKILLed parent")
        assert not Path(tmpdir).exists()
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait()
        parent.stdin.close()  # type: ignore[union-attr]
        parent.stdout.close()  # type: ignore[union-attr]


def test_fresh_buckets_are_dropped_with_their_objects(s3_server: MotoS3Server) -> None:
    from tests.conftest import _fresh_bucket

    with _fresh_bucket(s3_server) as name:
        client = s3_server.client()
        client.put_object(Bucket=name, Key="a/b", Body=b"x")
        client.create_multipart_upload(Bucket=name, Key="big")
    names = {b["Name"] for b in s3_server.client().list_buckets().get("Buckets", [])}
    assert name not in names
