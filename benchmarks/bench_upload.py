"""Benchmark: v2s multipart upload throughput against a single-stream boto3 put.

Both run in this process against the lab's moto S3 server on 127.0.0.1: first the
baseline (one ``put_object`` of the whole file), then v2s' ``Uploader`` with 1, 4
and 8 parallel parts; each is printed as MiB/s and as a ratio to the baseline.
moto is CPU-bound on loopback, so the ratio here measures overhead more than the
gain a real network link would give.

    .venv/bin/python benchmarks/bench_upload.py [MiB]      or      make bench
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "providers"))

from v2s_scaleway.s3client import make_s3_client
from v2s_scaleway.s3upload import Uploader

from tests.lab.s3 import ACCESS_KEY, REGION, SECRET_KEY, MotoS3Server
from vmware2scw.testing import RecordingContext

MiB = 2**20
DEFAULT_MIB = 128


def _file(directory: Path, size: int) -> Path:
    path = directory / "bench.qcow2"
    with path.open("wb") as f:
        block = os.urandom(MiB)
        for i in range(size // MiB):
            f.write(block[i % 97:] + block[: i % 97])
    return path


class _Timed:
    """Delegates to a boto3 client, adding up the time spent in complete_multipart_upload."""

    def __init__(self, s3: object) -> None:
        self._s3, self.complete_seconds = s3, 0.0

    def __getattr__(self, name: str) -> object:
        return getattr(self._s3, name)

    def complete_multipart_upload(self, **kw: object) -> object:
        start = time.perf_counter()
        try:
            return self._s3.complete_multipart_upload(**kw)  # type: ignore[attr-defined]
        finally:
            self.complete_seconds += time.perf_counter() - start


def run(size_mib: int = DEFAULT_MIB) -> dict[str, float]:
    """Throughputs in MiB/s by method name."""
    results: dict[str, float] = {}
    with MotoS3Server() as server, TemporaryDirectory(prefix="v2s-bench-") as tmp:
        server.create_bucket("v2s-bench")
        src = _file(Path(tmp), size_mib * MiB)
        s3 = make_s3_client(region=REGION, endpoint=server.endpoint_url, access_key=ACCESS_KEY,
                            secret_key=SECRET_KEY, max_pool=20)
        start = time.perf_counter()
        with src.open("rb") as f:
            s3.put_object(Bucket="v2s-bench", Key="baseline.qcow2", Body=f)
        results["single put_object (baseline)"] = size_mib / (time.perf_counter() - start)
        assembly: dict[str, float] = {}
        for workers in (1, 4, 8):
            timed = _Timed(s3)
            start = time.perf_counter()
            Uploader(timed, path=src, bucket="v2s-bench", key=f"v2s-{workers}.qcow2",
                     ctx=RecordingContext("bench.s3_object[0]"), concurrency=workers).run()
            name = f"v2s multipart x{workers}"
            results[name] = size_mib / (time.perf_counter() - start)
            assembly[name] = timed.complete_seconds
    base = results["single put_object (baseline)"]
    print(f"\nupload benchmark: {size_mib} MiB to moto on 127.0.0.1")
    for name, rate in results.items():
        note = ""
        if name in assembly:
            note = f"   (of which moto's part assembly at complete: {assembly[name]:.2f} s)"
        print(f"  {name:32s} {rate:8.1f} MiB/s   x{rate / base:.2f}{note}")
    return results


@pytest.mark.bench
def test_upload_throughput() -> None:
    results = run(int(os.environ.get("V2S_BENCH_UPLOAD_MIB", DEFAULT_MIB)))
    assert all(rate > 0 for rate in results.values())


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MIB)
