"""Benchmark: a disk_export reading CBT's allocated areas against reading the whole disk.

Baseline: the same base disk read whole over datastore HTTPS (zero detection only, as
before CBT was used), in the same process, from the same vcsim. The disk is 10 GiB holding
~1 GiB in 1 MiB pieces every 10 MiB (``V2S_BENCH_DISK_GIB`` changes the size). Prints the
bytes read and seconds of both and their ratios.
Run: ``.venv/bin/pytest -q -s -m bench benchmarks/bench_export_areas.py``.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
from v2s_vmware import export

from tests.lab.scenario import VM, Disk, load
from tests.lab.vcsim import Vcsim
from tests.vcsim.vsphere import set_cbt, vm_ref
from tests.vmware.conftest import FakeContext, make_provider
from vmware2scw.provider import ApplyRequest, InventoryRequest

pytestmark = [pytest.mark.bench, pytest.mark.lab]
MIB, GIB = 1 << 20, 1 << 30


def test_cbt_areas_read_against_whole_disk(tmp_path: Path) -> None:
    size = int(os.environ.get("V2S_BENCH_DISK_GIB", "10")) * GIB
    piece = hashlib.sha256(b"bench").digest() * (MIB // 32)
    data = tuple((off, piece) for off in range(0, size, 10 * MIB))  # ~1/10 of the disk
    with Vcsim(vms_per_pool=0) as vc:
        loaded = load(vc, [VM("bench-areas", disks=(Disk(capacity_bytes=size, data=data),))])
        p = make_provider(vc, tmp_path)
        try:
            s = p.session
            set_cbt(s, vm_ref(s, loaded.morefs["bench-areas"]), True)
            addr = "migration.bench-areas.vmware_snapshot"
            snap = p.apply(ApplyRequest(address=addr, type="vmware_snapshot", prior=None,
                                        planned={"vm": "bench-areas", "name": "v2s-bench"}),
                           FakeContext(addr, tmp_path)).attributes
            d = p.inventory(InventoryRequest(patterns=("bench-areas",))).vms[0].disks[0]
            # baseline: the whole base disk, chunk by chunk (the reader before CBT)
            cfg = p.settings
            reader = export.DatastoreReader(lambda: s.http(pool=cfg.parallel_chunks),
                                            s.relogin, cfg.timeout_s, "bench")
            ds = export.parse_disk_file(d.file)[0]
            dc = p._dc_path(ds, "bench")
            ds, extent = export.resolve_extent(reader, cfg.base_url, dc, d.file)
            url = export.folder_url(cfg.base_url, extent, dc, ds)
            t0 = time.perf_counter()
            whole = export.fetch_chunks(reader, url, tmp_path / "whole.raw", size=size,
                                        chunk=cfg.chunk_mb << 20, parallel=cfg.parallel_chunks,
                                        done=set(), on_chunk=lambda _i, _s: None,
                                        cancelled=threading.Event())
            whole_s = time.perf_counter() - t0
            # the export as it runs now: CBT "*" areas only
            addr = "migration.bench-areas.disk_export[0]"
            work = tmp_path / "cbt"
            work.mkdir()
            t0 = time.perf_counter()
            out = p.apply(ApplyRequest(address=addr, type="disk_export", prior=None, planned={
                "vm": "bench-areas", "disk_key": d.key, "disk_index": 0, "disk_file": d.file,
                "datastore": d.datastore, "capacity_bytes": size,
                "snapshot": snap["snapshot_moref"]}), FakeContext(addr, work)).attributes
            areas_s = time.perf_counter() - t0
            stats = p.export_stats[addr]
        finally:
            p.close()
    written = len(data) * MIB
    print(f"\n{size / GIB:.0f} GiB disk holding {written / GIB:.2f} GiB:")
    print(f"whole-disk read: {whole.fetched_bytes} B in {whole_s:.1f} s")
    print(f"CBT areas read:  {stats.fetched_bytes} B in {areas_s:.1f} s")
    print(f"ratio: bytes {stats.fetched_bytes / whole.fetched_bytes:.3f}x, "
          f"time {areas_s / whole_s:.3f}x")
    assert stats.cbt and out["sha256"] == whole.sha256
    assert stats.fetched_bytes <= written + 64 * 1024 * len(data)
