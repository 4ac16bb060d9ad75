"""Benchmark: converting the lab guest with and without compression — time and size.

Baseline: the uncompressed conversion, measured in the same process; the compressed
run prints its time and size as ratios of it. Also prints the raw (allocated) size of
the source disk and the bare ``qemu-img convert`` time, to show what the guest steps
cost. Run: ``.venv/bin/pytest -q -s -m bench benchmarks/bench_convert.py`` or
``.venv/bin/python -m benchmarks.bench_convert``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from v2s_qemu import qcow2
from v2s_qemu.convert import ConvertOptions, convert_vm

from tests.convert.conftest import guestfs_cache
from tests.lab.guest import build_guest

pytestmark = [pytest.mark.bench, pytest.mark.slow]
MIB = 2**20


def measure(compress: bool) -> dict[str, float]:
    guest = build_guest("bios")
    with tempfile.TemporaryDirectory(prefix="v2s-bench-convert-") as t:
        out = Path(t) / "disk0.qcow2"
        start = time.perf_counter()
        res = convert_vm(
            guest.flat,
            [out],
            ConvertOptions(compress=compress, seed="bench"),
            Path(t) / "work",
            guestfs_cache(),
        )
        seconds = time.perf_counter() - start
        bare = Path(t) / "bare.qcow2"
        b0 = time.perf_counter()
        qcow2.write_qcow2(guest.flat[0], bare, compress)
        bare_s = time.perf_counter() - b0
        return {
            "seconds": seconds,
            "size": out.stat().st_size,
            "changes": len(res.changes),
            "bare_seconds": bare_s,
            "bare_size": bare.stat().st_size,
        }


def report() -> None:
    guest = build_guest("bios")
    src = guest.flat[0]
    allocated = os.stat(src).st_blocks * 512
    print(
        f"source: {src.stat().st_size / MIB:.0f} MiB virtual, {allocated / MIB:.0f} MiB allocated"
    )
    base = measure(compress=False)
    comp = measure(compress=True)
    for name, m in (("uncompressed", base), ("compressed (zlib)", comp)):
        print(
            f"{name:18s} convert {m['seconds']:6.1f} s  size {m['size'] / MIB:7.1f} MiB"
            f"  ({m['changes']:.0f} guest changes; qemu-img alone {m['bare_seconds']:.1f} s,"
            f" {m['bare_size'] / MIB:.1f} MiB)"
        )
    print(
        f"compressed/uncompressed: time x{comp['seconds'] / base['seconds']:.2f},"
        f" size x{comp['size'] / base['size']:.2f}"
    )


@pytest.mark.timeout(3000)
def test_bench_convert() -> None:
    report()


if __name__ == "__main__":
    report()
