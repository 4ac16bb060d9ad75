"""Benchmark: vcsim's read throughput limit (datastore HTTPS and NFC) against no limit.

Baseline: the same reads from a vcsim with no limit, in the same process. A vcsim started
with ``read_limit`` (or ``V2S_LAB_VCSIM_READ_MIBPS``) paces datastore GETs and NFC exports
together like one link; this prints the MiB/s of both paths and their ratio to the
baseline. Run: ``.venv/bin/pytest -q -s -m bench benchmarks/bench_vcsim_link.py``.
"""

from __future__ import annotations

import os
import time

import pytest
from v2s_vmware.session import Session
from v2s_vmware.settings import resolve

from tests.lab.scenario import Disk
from tests.lab.vcsim import Vcsim
from tests.vcsim.conftest import make_vm
from tests.vcsim.vsphere import datastore_get, wait_lease

pytestmark = [pytest.mark.bench, pytest.mark.lab]
MIB = 1 << 20
SIZE = 16 * MIB
LIMIT = 8 * MIB  # bytes/s


def measure(limit: float) -> dict[str, float]:
    """MiB/s of one datastore GET and one NFC export of a 16 MiB disk full of random data."""
    data = ((0, os.urandom(SIZE)),)  # incompressible: the NFC stream is as big as the disk
    with Vcsim(vms_per_pool=0, read_limit=limit) as vc:
        s = Session(resolve(vc.settings(), {}))
        try:
            _, vm = make_vm(vc, s, Disk(capacity_bytes=SIZE, data=data), power_on=False)
            name = s.properties(vm, "name")["name"]
            t0 = time.perf_counter()
            body = datastore_get(vc, s, f"{name}/{name}_0-flat.vmdk").content
            https = time.perf_counter() - t0
            assert len(body) == SIZE
            lease = s.call(lambda _c: vm.ExportVm())
            assert wait_lease(s, lease, "ready") == "ready"
            url = s.properties(lease, "info")["info"].deviceUrl[0].url.replace("*", vc.host)
            t0 = time.perf_counter()
            sent = len(s.http().get(url, timeout=120).content)
            nfc = time.perf_counter() - t0
            s.call(lambda _c: lease.HttpNfcLeaseComplete())
        finally:
            s.close()
    return {"https": SIZE / MIB / https, "nfc_mib": sent / MIB, "nfc": sent / MIB / nfc}


def test_read_limit_paces_datastore_and_nfc_reads() -> None:
    free, paced = measure(0), measure(LIMIT)
    print(f"\nunlimited: https {free['https']:.0f} MiB/s, nfc {free['nfc']:.0f} MiB/s "
          f"({free['nfc_mib']:.1f} MiB streamOptimized)")
    print(f"limit {LIMIT / MIB:.0f} MiB/s: https {paced['https']:.1f} MiB/s "
          f"({paced['https'] / free['https']:.3f}x), nfc {paced['nfc']:.1f} MiB/s "
          f"({paced['nfc'] / free['nfc']:.3f}x)")
    # a limit is a ceiling: never faster than it (a little slack for the first chunk)
    assert paced["https"] <= LIMIT / MIB * 1.1
    assert paced["nfc"] <= LIMIT / MIB * 1.1


if __name__ == "__main__":
    test_read_limit_paces_datastore_and_nfc_reads()
