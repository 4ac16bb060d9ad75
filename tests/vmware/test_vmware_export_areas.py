"""disk_export reads allocated areas only: CBT ``"*"`` when tracked, zero detection otherwise.

Runs on a vcsim naming redo logs as ESXi does (``delta_names``): the export must read the
base disk the snapshot froze, not the VM's running ``-00000N.vmdk``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from v2s_vmware.provider import VMwareProvider

from tests.lab.scenario import VM, Disk, load
from tests.lab.vcsim import Vcsim
from tests.vcsim.vsphere import BLOCK, block_runs, set_cbt, vm_ref
from tests.vmware.conftest import FakeContext, make_provider
from tests.vmware.test_vmware_export import _export_attrs, _pattern, _snapshot
from vmware2scw.errors import ProviderError, TransientError
from vmware2scw.provider import ApplyRequest, InventoryRequest

pytestmark = pytest.mark.lab
MiB = 1 << 20
SIZE = 32 * MiB
# data at odd offsets: areas round to 64 KiB blocks, some straddle 1 MiB chunks
DATA = ((0, _pattern(1, 96 << 10)), (3 * MiB - 4096, _pattern(2, 192 << 10)),
        (20 * MiB + 70000, _pattern(3, 32 << 10)), (SIZE - BLOCK, _pattern(4, BLOCK)))


@pytest.fixture(scope="module")
def vc() -> Iterator[Vcsim]:
    with Vcsim(delta_names=True) as server:
        yield server


@pytest.fixture
def provider(vc: Vcsim, tmp_path: Path) -> Iterator[VMwareProvider]:
    p = make_provider(vc, tmp_path, chunk_mb=1, parallel_chunks=3)
    yield p
    p.close()


def _expected_read() -> int:
    return sum(n for _, n in block_runs([(o, len(d)) for o, d in DATA], SIZE))


def _export(provider: VMwareProvider, name: str, snap: str, tmp: Path,
            checkpoint: dict | None = None, ctx: FakeContext | None = None) -> dict:
    addr = f"migration.{name}.disk_export[0]"
    ctx = ctx or FakeContext(addr, tmp)
    return provider.apply(ApplyRequest(address=addr, type="disk_export", prior=None,
                                       planned=_export_attrs(provider, name, 0, snap),
                                       checkpoint=checkpoint), ctx).attributes


def test_cbt_export_reads_only_the_allocated_areas_of_the_frozen_base(
        vc: Vcsim, provider: VMwareProvider, tmp_path: Path) -> None:
    loaded = load(vc, [VM("cbt-on", disks=(Disk(capacity_bytes=SIZE, data=DATA),))])
    moref = loaded.morefs["cbt-on"]
    set_cbt(provider.session, vm_ref(provider.session, moref), True)  # active at the snapshot
    before = loaded.local_files["cbt-on"][0].read_bytes()
    snap, _ = _snapshot(provider, "cbt-on", tmp_path)
    vc.guest_write(moref, 2000, 8 * MiB, b"after the snapshot" * 100)  # must not be copied
    disk = provider.inventory(InventoryRequest(patterns=("cbt-on",))).vms[0].disks[0]
    assert disk.file.endswith("-000001.vmdk")  # the VM now runs on a redo log
    out = _export(provider, "cbt-on", snap["snapshot_moref"], tmp_path)
    stats = provider.export_stats["migration.cbt-on.disk_export[0]"]
    assert stats.cbt and stats.fetched_bytes == _expected_read() < SIZE // 10
    data = Path(out["path"]).read_bytes()
    assert data == before and out["sha256"] == hashlib.sha256(before).hexdigest()
    assert out["allocated_bytes"] <= _expected_read() + 2 * MiB  # the output stays sparse


def test_cbt_export_resumes_reading_only_the_areas_left(
        vc: Vcsim, provider: VMwareProvider, tmp_path: Path) -> None:
    loaded = load(vc, [VM("cbt-resume", disks=(Disk(capacity_bytes=SIZE, data=DATA),))])
    set_cbt(provider.session, vm_ref(provider.session, loaded.morefs["cbt-resume"]), True)
    snap, _ = _snapshot(provider, "cbt-resume", tmp_path)
    addr = "migration.cbt-resume.disk_export[0]"
    ctx = FakeContext(addr, tmp_path)
    reads = [0]

    def stop_after_first_read(c: FakeContext, phase: str, done: object, _t: object) -> None:
        if phase == "export" and done:
            reads[0] += 1
            if reads[0] == 2:  # the first progress is the start; stop after one chunk
                c.cancelled.set()

    ctx.on_progress = stop_after_first_read
    with pytest.raises(TransientError, match="interrupted"):
        _export(provider, "cbt-resume", snap["snapshot_moref"], tmp_path, ctx=ctx)
    first = provider.export_stats[addr].fetched_bytes
    assert 0 < first < _expected_read()
    out = _export(provider, "cbt-resume", snap["snapshot_moref"], tmp_path,
                  checkpoint=ctx.checkpoints[-1])
    assert first + provider.export_stats[addr].fetched_bytes == _expected_read()
    whole = loaded.local_files["cbt-resume"][0].read_bytes()
    assert Path(out["path"]).read_bytes() == whole


def test_untracked_disk_is_read_whole_and_its_zeros_stay_holes(
        vc: Vcsim, provider: VMwareProvider, tmp_path: Path) -> None:
    loaded = load(vc, [VM("cbt-off", disks=(Disk(capacity_bytes=SIZE, data=DATA),))])
    snap, _ = _snapshot(provider, "cbt-off", tmp_path)
    out = _export(provider, "cbt-off", snap["snapshot_moref"], tmp_path)
    stats = provider.export_stats["migration.cbt-off.disk_export[0]"]
    assert not stats.cbt and stats.fetched_bytes == SIZE
    assert Path(out["path"]).read_bytes() == loaded.local_files["cbt-off"][0].read_bytes()
    assert out["allocated_bytes"] <= 6 * MiB and stats.hole_bytes >= SIZE - 6 * MiB


def test_disk_sync_writes_the_allocated_areas_onto_the_device_in_place(
        vc: Vcsim, provider: VMwareProvider, tmp_path: Path) -> None:
    loaded = load(vc, [VM("sync-me", disks=(Disk(capacity_bytes=SIZE, data=DATA),))])
    set_cbt(provider.session, vm_ref(provider.session, loaded.morefs["sync-me"]), True)
    snap, _ = _snapshot(provider, "sync-me", tmp_path)
    device = tmp_path / "scsi-0SCW_sbs_volume-x"  # an empty volume, bigger than the disk
    with device.open("wb") as f:
        f.truncate(SIZE + 4 * MiB)
        f.seek(SIZE + MiB)
        f.write(b"beyond the disk")  # room for the ESP: never touched by the sync
    addr = "migration.sync-me.disk_sync[0]"
    planned = {**_export_attrs(provider, "sync-me", 0, snap["snapshot_moref"]),
               "device_path": str(device), "volume_id": "x"}
    ctx = FakeContext(addr, tmp_path)
    out = provider.apply(ApplyRequest(address=addr, type="disk_sync", prior=None,
                                      planned=planned), ctx).attributes
    src = loaded.local_files["sync-me"][0].read_bytes()
    data = device.read_bytes()
    assert data[:SIZE] == src and len(data) == SIZE + 4 * MiB
    assert data[SIZE + MiB:SIZE + MiB + 15] == b"beyond the disk"
    assert out["bytes_read"] == _expected_read()
    assert out["sha256"] == hashlib.sha256(src).hexdigest()
    assert out["range_sha256"] == [hashlib.sha256(src[i:i + MiB]).hexdigest()
                                   for i in range(0, SIZE, MiB)]
    # a rerun after a kill at the very end reads nothing and finds the same digest
    again = provider.apply(ApplyRequest(address=addr, type="disk_sync", prior=None,
                                        planned=planned, checkpoint=ctx.checkpoints[-1]),
                           FakeContext(addr, tmp_path)).attributes
    assert again["bytes_read"] == 0 and again["sha256"] == out["sha256"]


def test_disk_sync_refuses_a_missing_device(vc: Vcsim, provider: VMwareProvider,
                                            tmp_path: Path) -> None:
    load(vc, [VM("no-device", disks=(Disk(capacity_bytes=SIZE, data=DATA),))])
    planned = {**_export_attrs(provider, "no-device", 0, ""),
               "device_path": str(tmp_path / "absent"), "volume_id": "y"}
    with pytest.raises(ProviderError, match="cannot be opened"):
        provider.apply(ApplyRequest(address="m.disk_sync[0]", type="disk_sync", prior=None,
                                    planned=planned), FakeContext("m.disk_sync[0]", tmp_path))
