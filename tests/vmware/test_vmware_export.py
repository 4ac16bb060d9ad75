"""disk_export + vmware_snapshot through the protocol verbs against vcsim."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from v2s_vmware._vmomi import vim
from v2s_vmware.provider import VMwareProvider

from tests.lab.scenario import VM, Disk, load
from tests.lab.vcsim import Vcsim
from tests.vmware.conftest import FakeContext
from vmware2scw.errors import ProviderError, TransientError
from vmware2scw.provider import (
    ApplyRequest,
    DeleteRequest,
    InventoryRequest,
    ReadRequest,
    ResourceRef,
)

pytestmark = pytest.mark.lab
MiB = 1 << 20


def _pattern(seed: int, n: int) -> bytes:
    return hashlib.sha256(str(seed).encode()).digest() * (n // 32)


def _export_attrs(provider: VMwareProvider, vm: str, k: int, snap: str) -> dict[str, object]:
    facts = provider.inventory(InventoryRequest(patterns=(vm,))).vms[0]
    d = facts.disks[k]
    return {"vm": vm, "disk_key": d.key, "disk_index": k, "disk_file": d.file,
            "datastore": d.datastore, "capacity_bytes": d.capacity_bytes, "snapshot": snap}


def _power(provider: VMwareProvider, vm: str) -> str:
    return provider.inventory(InventoryRequest(patterns=(vm,))).vms[0].power_state


def _snapshot(provider: VMwareProvider, vm: str, tmp: Path,
              **extra: object) -> tuple[dict, FakeContext]:
    addr = f"migration.{vm}.vmware_snapshot"
    ctx = FakeContext(addr, tmp)
    planned = {"vm": vm, "vm_uuid": "", "name": "v2s-01234567", "quiesce": False,
               "power_off_source": False, **extra}
    resp = provider.apply(ApplyRequest(address=addr, type="vmware_snapshot", prior=None,
                                       planned=planned), ctx)
    return resp.attributes, ctx


def test_two_disk_vm_exports_identical_sparse_disks(vc: Vcsim, provider: VMwareProvider,
                                                     tmp_path: Path) -> None:
    disks = (
        Disk(capacity_bytes=6 * MiB,
             data=((0, _pattern(1, MiB)), (5 * MiB, _pattern(2, MiB // 2)))),
        Disk(capacity_bytes=3 * MiB + 4096, data=((2 * MiB, _pattern(3, 64 * 1024)),)),
    )
    loaded = load(vc, [VM("two-disk", disks=disks, snapshots=())])
    snap, sctx = _snapshot(provider, "two-disk", tmp_path)
    assert snap["snapshot_moref"] and snap["prior_power_state"] == "poweredOn"
    assert "two-disk" in {v.name for v in provider.inventory(InventoryRequest()).vms}
    assert "v2s-01234567" in provider.facts("two-disk").snapshots  # exists during export
    for k, src in enumerate(loaded.local_files["two-disk"]):
        addr = f"migration.two-disk.disk_export[{k}]"
        work = tmp_path / f"d{k}"
        work.mkdir()
        ctx = FakeContext(addr, work)
        seen: list[tuple[str, ...]] = []

        def snapshots_mid_export(_c: FakeContext, phase: str, done: object, _t: object,
                                 seen: list[tuple[str, ...]] = seen) -> None:
            if phase == "export" and done and not seen:
                seen.append(provider.inventory(InventoryRequest(patterns=("two-disk",)))
                            .vms[0].snapshots)

        ctx.on_progress = snapshots_mid_export
        attrs = _export_attrs(provider, "two-disk", k, snap["snapshot_moref"])
        out = provider.apply(ApplyRequest(address=addr, type="disk_export", prior=None,
                                          planned=attrs), ctx).attributes
        data = Path(out["path"]).read_bytes()
        assert data == src.read_bytes()
        assert out["sha256"] == hashlib.sha256(data).hexdigest()
        assert out["size"] == src.stat().st_size
        # zero regions stay holes: far less allocated than the disk's size
        nonzero = sum(len(d) for _, d in disks[k].data)
        assert out["allocated_bytes"] <= nonzero + 2 * MiB < out["size"]
        assert ctx.events[-1][:3] == ("export", out["size"], out["size"]) and ctx.checkpoints
        assert seen == [("v2s-01234567",)]  # the snapshot exists during the export
        # read sees the file; delete removes it
        ref = ResourceRef(address=addr, type="disk_export", attributes=out)
        assert provider.read(ReadRequest(resources=(ref,))).attributes[addr] == out
        provider.delete(DeleteRequest(address=addr, type="disk_export", prior=out), ctx)
        assert not Path(out["path"]).exists()
        assert provider.read(ReadRequest(resources=(ref,))).attributes[addr] is None
    # the chain is done: the snapshot goes, and the user's VM keeps nothing of ours
    addr = "migration.two-disk.vmware_snapshot"
    provider.delete(DeleteRequest(address=addr, type="vmware_snapshot", prior=snap), sctx)
    assert provider.inventory(InventoryRequest(patterns=("two-disk",))).vms[0].snapshots == ()
    ref = ResourceRef(address=addr, type="vmware_snapshot", attributes=snap)
    assert provider.read(ReadRequest(resources=(ref,))).attributes[addr] is None
    # an export whose snapshot is gone refuses to copy a disk that is no longer frozen
    attrs = _export_attrs(provider, "two-disk", 0, snap["snapshot_moref"])
    with pytest.raises(ProviderError, match="is gone"):
        provider.apply(ApplyRequest(address="migration.two-disk.disk_export[0]",
                                    type="disk_export", prior=None, planned=attrs),
                       FakeContext("migration.two-disk.disk_export[0]", tmp_path))


def test_interrupted_export_resumes_with_only_missing_ranges(
        vc: Vcsim, provider: VMwareProvider, tmp_path: Path) -> None:
    size = 12 * MiB
    data = tuple((i * MiB, _pattern(i, MiB)) for i in range(0, 12, 2))
    disk = Disk(capacity_bytes=size, data=data)
    loaded = load(vc, [VM("resume-me", disks=(disk,))])
    attrs = _export_attrs(provider, "resume-me", 0, "")
    addr = "migration.resume-me.disk_export[0]"
    ctx = FakeContext(addr, tmp_path)

    def stop_half_way(c: FakeContext, phase: str, done: int | None, total: int | None) -> None:
        if phase == "export" and done is not None and done >= size // 2:
            c.cancelled.set()

    ctx.on_progress = stop_half_way
    with pytest.raises(TransientError, match="interrupted"):
        provider.apply(ApplyRequest(address=addr, type="disk_export", prior=None,
                                    planned=attrs), ctx)
    first = provider.export_stats[addr].fetched_bytes
    checkpoint = ctx.checkpoints[-1]
    done_chunks = sum(b - a for a, b in checkpoint["done"])
    assert 0 < done_chunks < 12 and first == done_chunks * MiB

    ctx2 = FakeContext(addr, tmp_path)
    out = provider.apply(ApplyRequest(address=addr, type="disk_export", prior=None,
                                      planned=attrs, checkpoint=checkpoint), ctx2).attributes
    second = provider.export_stats[addr].fetched_bytes
    assert second == size - done_chunks * MiB  # only the missing ranges moved
    whole = loaded.local_files["resume-me"][0].read_bytes()
    assert Path(out["path"]).read_bytes() == whole
    assert out["sha256"] == hashlib.sha256(whole).hexdigest()  # resumed chunks hashed too


def test_destroy_removes_leftover_v2s_snapshot_and_nothing_else(
        vc: Vcsim, provider: VMwareProvider, tmp_path: Path) -> None:
    load(vc, [VM("keep-mine", snapshots=("users-own",))])
    snap, ctx = _snapshot(provider, "keep-mine", tmp_path)
    # a second apply (e.g. after a crash) adopts the same snapshot instead of making another
    again, _ = _snapshot(provider, "keep-mine", tmp_path)
    assert again["snapshot_moref"] == snap["snapshot_moref"]
    assert sorted(provider.inventory(InventoryRequest(patterns=("keep-mine",))).vms[0].snapshots) \
        == ["users-own", "v2s-01234567"]
    destroy_ctx = FakeContext(ctx.address, tmp_path, operation="destroy")
    provider.delete(DeleteRequest(address=ctx.address, type="vmware_snapshot", prior=snap),
                    destroy_ctx)
    vm = provider.inventory(InventoryRequest(patterns=("keep-mine",))).vms[0]
    assert vm.snapshots == ("users-own",) and vm.power_state == "poweredOn"
    assert len(vm.disks) == 1 and vm.disks[0].file.endswith("keep-mine_0.vmdk")
    # deleting again is a no-op
    provider.delete(DeleteRequest(address=ctx.address, type="vmware_snapshot", prior=snap),
                    destroy_ctx)


def test_cold_cutover_powers_off_and_destroy_restores(
        vc: Vcsim, provider: VMwareProvider, tmp_path: Path) -> None:
    load(vc, [VM("cold")])
    snap, ctx = _snapshot(provider, "cold", tmp_path, power_off_source=True)
    assert snap["prior_power_state"] == "poweredOn"
    assert ctx.checkpoints[0]["prior_power_state"] == "poweredOn"
    assert _power(provider, "cold") == "poweredOff"
    # a cleanup delete (chain done) keeps the source off
    provider.delete(DeleteRequest(address=ctx.address, type="vmware_snapshot", prior=snap), ctx)
    assert _power(provider, "cold") == "poweredOff"
    destroy_ctx = FakeContext(ctx.address, tmp_path, operation="destroy")
    provider.delete(DeleteRequest(address=ctx.address, type="vmware_snapshot", prior=snap),
                    destroy_ctx)
    assert _power(provider, "cold") == "poweredOn"


def test_export_killed_half_way_resumes_from_its_last_checkpoint(
        vc: Vcsim, provider: VMwareProvider, tmp_path: Path) -> None:
    size = 16 * MiB
    data = tuple((i * MiB, _pattern(100 + i, MiB)) for i in range(0, 16, 3))
    loaded = load(vc, [VM("kill-me", disks=(Disk(capacity_bytes=size, data=data),))])
    attrs = _export_attrs(provider, "kill-me", 0, "")
    addr = "migration.kill-me.disk_export[0]"
    cp_file = tmp_path / "checkpoint.json"
    job = {"settings": vc.settings(chunk_mb=1, parallel_chunks=2, checkpoint_every_s=0),
           "work_dir": str(tmp_path), "address": addr, "planned": attrs,
           "checkpoint_file": str(cp_file)}
    proc = subprocess.run([sys.executable, "-m", "tests.vmware.export_worker", json.dumps(job)],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    checkpoint = json.loads(cp_file.read_text())
    done = sum(b - a for a, b in checkpoint["done"])
    assert 0 < done < 16
    ctx = FakeContext(addr, tmp_path)
    out = provider.apply(ApplyRequest(address=addr, type="disk_export", prior=None,
                                      planned=attrs, checkpoint=checkpoint), ctx).attributes
    assert provider.export_stats[addr].fetched_bytes == size - done * MiB
    whole = loaded.local_files["kill-me"][0].read_bytes()
    assert Path(out["path"]).read_bytes() == whole
    assert out["sha256"] == hashlib.sha256(whole).hexdigest()


def test_read_finds_the_snapshot_of_a_renamed_vm(vc: Vcsim, provider: VMwareProvider,
                                                 tmp_path: Path) -> None:
    loaded = load(vc, [VM("rename-me")])
    snap, ctx = _snapshot(provider, "rename-me", tmp_path)
    vm = vim.VirtualMachine(loaded.morefs["rename-me"], provider.session.stub)
    provider.session.wait_task(vm.Rename_Task(newName="renamed"), what="rename")
    ref = ResourceRef(address=ctx.address, type="vmware_snapshot", attributes=snap)
    assert provider.read(ReadRequest(resources=(ref,))).attributes[ctx.address] == snap
    provider.delete(DeleteRequest(address=ctx.address, type="vmware_snapshot", prior=snap), ctx)
    assert provider.read(ReadRequest(resources=(ref,))).attributes[ctx.address] is None
