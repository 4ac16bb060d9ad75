"""Benchmark: the lab's link limits — S3 uploads through the throttled relay and paced
device writes, against the unthrottled path measured in the same process.

Baseline: an upload straight to moto and an unpaced copy into a device path. Each
limited run prints its throughput as a ratio of the target rate (1.0 = the link is
modelled exactly; below 1.0 = the lab cannot reach that rate on this machine). Run:
``.venv/bin/pytest -q -s -m bench benchmarks/bench_link_limits.py`` or
``.venv/bin/python -m benchmarks.bench_link_limits``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from tests.lab.s3 import MotoS3Server
from tests.lab.throttle import paced_copy

pytestmark = [pytest.mark.bench]
MIB = 2**20
SIZE = 24 * MIB  # moto holds objects in memory: keep it to tens of MiB
S3_RATES = (4 * MIB, 8 * MIB)  # below what moto takes on a loaded 2-core machine
DEVICE_RATES = (16 * MIB, 64 * MIB)


def _upload(s3: MotoS3Server, src: Path, key: str) -> float:
    c = s3.client()
    start = time.perf_counter()
    c.upload_file(str(src), "v2s-bench-link", key)
    return SIZE / (time.perf_counter() - start)


def measure() -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory(prefix="v2s-bench-link-") as t:
        src = Path(t) / "payload.bin"
        src.write_bytes(os.urandom(SIZE))
        with MotoS3Server() as s3:
            s3.create_bucket("v2s-bench-link")
            base = _upload(s3, src, "base")
        lines.append(f"S3 upload, no limit: {base / MIB:.1f} MiB/s (baseline)")
        for rate in S3_RATES:
            with MotoS3Server(upload_rate=rate) as s3:
                s3.create_bucket("v2s-bench-link")
                got = _upload(s3, src, "limited")
            lines.append(f"S3 upload, limit {rate / MIB:.0f} MiB/s: {got / MIB:.1f} MiB/s "
                         f"= {got / rate:.2f} x limit, {got / base:.2f} x baseline")  # fmt: skip
        dev = Path(t) / "device"
        with dev.open("wb") as f:
            f.truncate(SIZE)
        start = time.perf_counter()
        paced_copy(src, dev, None)
        base = SIZE / (time.perf_counter() - start)
        lines.append(f"device write, no limit: {base / MIB:.1f} MiB/s (baseline)")
        for rate in DEVICE_RATES:
            start = time.perf_counter()
            paced_copy(src, dev, rate)
            got = SIZE / (time.perf_counter() - start)
            lines.append(f"device write, limit {rate / MIB:.0f} MiB/s: {got / MIB:.1f} MiB/s "
                         f"= {got / rate:.2f} x limit, {got / base:.2f} x baseline")  # fmt: skip
    return lines


def test_bench_link_limits() -> None:
    for line in measure():
        print(line)


if __name__ == "__main__":
    for line in measure():
        print(line)
